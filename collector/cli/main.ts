#!/usr/bin/env bun
import { readFileSync } from "node:fs"
import { configForCommand, parseArgs, runCli } from "../../shared/cli.ts"
import { loadConfigFile } from "../../shared/config/load.ts"
import { ConfigError } from "../../shared/errors.ts"
import { VERSION } from "../../shared/version.ts"
import { checkCollectorConfig } from "../config/checks.ts"
import { CollectorConfigSchema } from "../config/schema.ts"
import { startCollector } from "../service.ts"
import { enrollKey } from "./enroll.ts"
import { quarantineCommand } from "./quarantine.ts"

const HELP = `outpost-collector ${VERSION}: verifies signed envelopes from JetStream and writes them to DuckDB

Usage:
  outpost-collector run --config <file.toml|file.json>     run the collector (default command)
  outpost-collector check-config --config <file>           validate a config file and exit
  outpost-collector enroll --config <file> '<key line>' | --file <agent.key.pub>
                                                           add an agent's public key to enrolled_keys; a running
                                                           collector picks it up within a second (or on SIGHUP)
  outpost-collector quarantine list --config <file>        envelopes waiting in the quarantine, by reason and agent
  outpost-collector quarantine discard --config <file> (--agent <id> | --reason <reason> | --all)
                                                           delete quarantined envelopes for good
  outpost-collector --help | --version

Without [nats].url in the config the collector starts a local nats-server (store under data_dir/nats) that
lets in only the collector and enrolled agent keys, each agent publishing to its own subjects only.
HTTP: /health, /status, /metrics (Prometheus), /sql?q=SELECT... (read-only). With [http] token, all but
/health need 'Authorization: Bearer <token>'; without one, HTTP listens on loopback only. See README.md.
Envelopes refused for a reason an operator can fix (agent or key not enrolled, over max_envelope_bytes, not
writable) wait in the quarantine stream and are ingested once enrolled or after a restart with a raised limit.
Signals: SIGTERM/SIGINT finish the batch in hand, commit, ack, close DuckDB and exit 0;
SIGHUP reads enrolled_keys again.`

const log = (message: string) => console.log(`${new Date().toISOString()} collector: ${message}`)

await runCli(async () => {
  const args = parseArgs(process.argv.slice(2), ["help", "version", "all"])
  if (args.switches.has("help")) return void console.log(HELP)
  if (args.switches.has("version")) return void console.log(VERSION)
  const command = args.command ?? "run"
  if (command === "quarantine") {
    const path = args.flags.get("config")
    if (!path) throw new ConfigError("cli", "--config <file> is required")
    const config = loadConfigFile(path, CollectorConfigSchema)
    const filter = {
      agent: args.flags.get("agent"),
      reason: args.flags.get("reason"),
      all: args.switches.has("all"),
    }
    return await quarantineCommand(config, args.rest[0], filter, (line) => console.log(line))
  }
  if (command === "enroll") {
    const path = args.flags.get("config")
    if (!path) throw new ConfigError("cli", "--config <file> is required")
    const file = args.flags.get("file")
    const line = file ? readFileSync(file, "utf8") : args.rest.join(" ")
    if (!line.trim()) throw new ConfigError("cli", "enroll needs a public key line or --file <agent.key.pub>")
    const config = loadConfigFile(path, CollectorConfigSchema)
    const r = enrollKey(
      config.enrolled_keys,
      line.split("\n").find((l) => l.trim() && !l.startsWith("#")) ?? "",
    )
    console.log(
      r.status === "enrolled"
        ? `enrolled agent '${r.agent}' key ${r.keyId} in ${r.path}; a running collector picks it up within a second`
        : `agent '${r.agent}' key ${r.keyId} is already enrolled in ${r.path}`,
    )
    return 0
  }
  if (command !== "run" && command !== "check-config") {
    throw new ConfigError("cli", `unknown command '${command}'\n\n${HELP}`)
  }
  // Loaded as for "run" so that the cross-field checks run for both commands before "ok" is printed.
  const config = configForCommand("run", args, CollectorConfigSchema, HELP)
  if (!config) return 0
  checkCollectorConfig(config, args.flags.get("config"))
  if (command === "check-config") return void console.log(`${args.flags.get("config")}: ok`)
  const collector = await startCollector(config, log)
  const stop = () => void collector.stop().then(() => process.exit(0))
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
  process.on("SIGHUP", () => void collector.reloadEnrollment())
  await collector.done
  await collector.stop()
  return 0
})
