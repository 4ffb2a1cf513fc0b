#!/usr/bin/env bun
import { configForCommand, parseArgs, runCli } from "../../shared/cli.ts"
import { ConfigError } from "../../shared/errors.ts"
import { VERSION } from "../../shared/version.ts"
import { checkAgentConfig } from "../config/checks.ts"
import { AgentConfigSchema } from "../config/schema.ts"
import { startAgent } from "../service.ts"
import { keygen } from "./keygen.ts"

const HELP = `outpost-agent ${VERSION}: tails logs and publishes signed batches to NATS JetStream

Usage:
  outpost-agent run --config <file.toml|file.json>       run the agent (default command)
  outpost-agent check-config --config <file>             validate a config file and exit
  outpost-agent keygen --agent <id> --out <path> [--force]
                                                         write an Ed25519 key: <path> (private, 0600) and
                                                         <path>.pub (enroll it on the collector)
  outpost-agent --help | --version

Positions are saved in <state_dir>/state.db only after JetStream acknowledged the lines;
while NATS is down the agent waits and the log files are the buffer.
Signals: SIGTERM/SIGINT publish what is in hand (up to 10 s), save positions and exit 0.`

const log = (message: string) => console.log(`${new Date().toISOString()} agent: ${message}`)

await runCli(async () => {
  const args = parseArgs(process.argv.slice(2), ["help", "version", "force"])
  if (args.switches.has("help")) return void console.log(HELP)
  if (args.switches.has("version")) return void console.log(VERSION)
  const command = args.command ?? "run"
  if (command === "keygen") {
    const agent = args.flags.get("agent")
    const out = args.flags.get("out")
    if (!agent || !out) throw new ConfigError("cli", "keygen needs --agent <id> and --out <path>")
    const { privatePath, publicPath } = keygen(out, agent, args.switches.has("force"))
    console.log(
      `wrote ${privatePath} (keep it secret) and ${publicPath} (copy it into the collector's enrolled_keys)`,
    )
    return 0
  }
  if (command !== "run" && command !== "check-config") {
    throw new ConfigError("cli", `unknown command '${command}'\n\n${HELP}`)
  }
  // loaded as for "run" so that the cross-field checks below run for both commands before "ok" is printed
  const config = configForCommand("run", args, AgentConfigSchema, HELP)
  if (!config) return 0
  checkAgentConfig(config, args.flags.get("config"))
  if (command === "check-config") return void console.log(`${args.flags.get("config")}: ok`)
  const agent = await startAgent(config, log)
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve)
    process.once("SIGINT", resolve)
  })
  await agent.stop()
  return 0
})
