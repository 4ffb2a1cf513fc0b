#!/usr/bin/env bun
import {
  CONFIG_OPTION,
  type CommandContext,
  isAbort,
  type Program,
  required,
  runProgram,
  stopSignal,
} from "../../shared/cli.ts"
import { loadConfigFile } from "../../shared/config/load.ts"
import { printableConfig } from "../../shared/config/print.ts"
import { UsageError } from "../../shared/errors.ts"
import { VERSION } from "../../shared/version.ts"
import { checkAgentConfig, checkAgentHost } from "../config/checks.ts"
import { type AgentConfig, AgentConfigSchema } from "../config/schema.ts"
import { startAgent } from "../service.ts"
import { checkAgentEnvironment } from "./environment.ts"
import { keygen } from "./keygen.ts"
import { testRules } from "./test-rules.ts"

/** Loads --config and runs every check `run` would run before starting. */
function loadChecked(ctx: CommandContext, command: string): { path: string; config: AgentConfig } {
  const path = required(ctx, "config", `outpost-agent ${command}`)
  const config = loadConfigFile(path, AgentConfigSchema)
  checkAgentConfig(config, path)
  checkAgentHost(config, path)
  return { path, config }
}

const program: Program = {
  name: "outpost-agent",
  version: VERSION,
  summary: "tails logs and publishes signed batches to NATS JetStream",
  defaultCommand: "run",
  footer: `Positions are saved in <state_dir>/state.db only after JetStream acknowledged the lines; while NATS is
down the agent waits (and says so) and the log files are the buffer. In config values, \${NAME} and
\${NAME:-default} are replaced from the environment; agent_id defaults to the host name.
Signals: SIGTERM/SIGINT publish what is in hand (up to 10 s), save positions and exit 0, also while still
waiting for NATS. Exit codes: 0 ok, 1 failure, 2 bad command line or config.`,
  commands: [
    {
      name: "run",
      summary: "run the agent (the default command)",
      usage: "run --config <file> [--log-level <level>] [--log-format text|json]",
      options: CONFIG_OPTION,
      logs: true,
      async run(ctx) {
        const { config } = loadChecked(ctx, "run")
        const { signal, stopped } = stopSignal()
        let agent: Awaited<ReturnType<typeof startAgent>>
        try {
          agent = await startAgent(config, ctx.logger, { signal })
        } catch (error) {
          if (isAbort(error)) return 0 // stopped while waiting for NATS: nothing was read, nothing is lost
          throw error
        }
        await stopped
        await agent.stop()
        return 0
      },
    },
    {
      name: "check-config",
      summary: "check a config as run would, and exit (0: ok)",
      usage: "check-config --config <file> [--environment]",
      description:
        "Checks the schema, sizes against each other, rules and regexes, the private key, the state directory,\n" +
        "NATS URLs and credential files. --environment also connects to NATS and asks the collector whether it\n" +
        "knows this agent's key.",
      options: {
        ...CONFIG_OPTION,
        environment: { type: "boolean", help: "also try NATS and the collector" },
      },
      async run(ctx) {
        const { path, config } = loadChecked(ctx, "check-config")
        if (ctx.values.environment) {
          for (const line of await checkAgentEnvironment(config)) console.log(line)
        }
        console.log(`${path}: ok`)
        return 0
      },
    },
    {
      name: "config",
      summary: "print the effective config (defaults filled, environment variables replaced, secrets hidden)",
      usage: "config --print --config <file> [--format toml|json]",
      options: {
        ...CONFIG_OPTION,
        print: { type: "boolean", help: "print it (the only action for now)" },
        format: { type: "string", help: "<format>  toml (default) or json" },
      },
      run(ctx) {
        if (!ctx.values.print) throw new UsageError("cli_usage", "outpost-agent config needs --print")
        const format = ctx.values.format ?? "toml"
        if (format !== "toml" && format !== "json") {
          throw new UsageError("cli_usage", `--format must be toml or json, got '${String(format)}'`)
        }
        const path = required(ctx, "config", "outpost-agent config")
        process.stdout.write(printableConfig(loadConfigFile(path, AgentConfigSchema), format))
        return 0
      },
    },
    {
      name: "test-rules",
      summary: "show which lines of a file a [[logs]] entry would ship, and with which rule",
      usage: "test-rules --config <file> --file <log file> [--source <name>] [--limit <n>]",
      description:
        "Reads the file from its start as the agent would (same rules, line cap and mode) and prints\n" +
        "<offset> <rule> <line> for each line it would ship, then a summary. Nothing is published or saved.",
      options: {
        ...CONFIG_OPTION,
        file: { type: "string", short: "f", help: "<path>  the log file to read" },
        source: { type: "string", help: "<name>  the [[logs]] entry (default: the one whose paths match)" },
        limit: { type: "string", help: "<n>  most lines printed (default 100; the summary counts all)" },
      },
      run(ctx) {
        const path = required(ctx, "config", "outpost-agent test-rules")
        const config = loadConfigFile(path, AgentConfigSchema)
        checkAgentConfig(config, path)
        const limit = ctx.values.limit === undefined ? 100 : Number(ctx.values.limit)
        if (!Number.isInteger(limit) || limit < 0) {
          throw new UsageError(
            "cli_usage",
            `--limit must be a whole number, got '${String(ctx.values.limit)}'`,
          )
        }
        return testRules(config, {
          file: required(ctx, "file", "outpost-agent test-rules"),
          source: ctx.values.source as string | undefined,
          limit,
          print: (line) => console.log(line),
        })
      },
    },
    {
      name: "keygen",
      summary:
        "write an Ed25519 key pair: <path> (private, 0600) and <path>.pub (enroll it on the collector)",
      usage: "keygen --agent <id> --out <path> [--force]",
      options: {
        agent: { type: "string", help: "<id>  the agent id the key is for" },
        out: { type: "string", short: "o", help: "<path>  where to write the private key" },
        force: { type: "boolean", help: "replace existing files" },
      },
      run(ctx) {
        const agent = required(ctx, "agent", "outpost-agent keygen")
        const out = required(ctx, "out", "outpost-agent keygen")
        const { privatePath, publicPath } = keygen(out, agent, ctx.values.force === true)
        console.log(
          `wrote ${privatePath} (keep it secret) and ${publicPath} (copy it into the collector's enrolled_keys)`,
        )
        return 0
      },
    },
  ],
}

await runProgram(program, process.argv.slice(2))
