#!/usr/bin/env bun
import { readFileSync } from "node:fs"
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
import { checkCollectorConfig, checkCollectorHost } from "../config/checks.ts"
import { type CollectorConfig, CollectorConfigSchema } from "../config/schema.ts"
import { enrollKey } from "./enroll.ts"

/** Loads --config; `host`: also every check of this machine `run` needs (directories, ports). */
function load(
  ctx: CommandContext,
  command: string,
  host: boolean,
): { path: string; config: CollectorConfig } {
  const path = required(ctx, "config", `outpost-collector ${command}`)
  const config = loadConfigFile(path, CollectorConfigSchema)
  checkCollectorConfig(config, path)
  if (host) checkCollectorHost(config, path)
  return { path, config }
}

const program: Program = {
  name: "outpost-collector",
  version: VERSION,
  summary: "verifies signed envelopes from JetStream and writes them to DuckDB",
  defaultCommand: "run",
  footer: `Without [nats] url the collector starts a local nats-server (store under data_dir/nats) that lets in only
the collector and enrolled agent keys, each agent publishing to its own subjects only.
HTTP: /health, /status, /metrics (Prometheus), /sql?q=SELECT... (read-only). With [http] token, all but
/health need 'Authorization: Bearer <token>'; without one, HTTP listens on loopback only. See README.md.
Envelopes refused for a reason an operator can fix (agent or key not enrolled, over max_envelope_bytes, not
writable) wait in the quarantine stream and are ingested once enrolled or after a restart with a raised limit.
In config values, \${NAME} and \${NAME:-default} are replaced from the environment.
Signals: SIGTERM/SIGINT finish the batch in hand, commit, ack, close DuckDB and exit 0; SIGHUP reads
enrolled_keys again. Exit codes: 0 ok, 1 failure, 2 bad command line or config.`,
  commands: [
    {
      name: "run",
      summary: "run the collector (the default command)",
      usage: "run --config <file> [--log-level <level>] [--log-format text|json]",
      options: CONFIG_OPTION,
      logs: true,
      async run(ctx) {
        const { config } = load(ctx, "run", true)
        // Loaded here, not at the top: --help, check-config and enroll work without DuckDB's native library.
        const { startCollector } = await import("../service.ts")
        const { signal, stopped } = stopSignal()
        let collector: Awaited<ReturnType<typeof startCollector>>
        try {
          collector = await startCollector(config, ctx.logger, { signal })
        } catch (error) {
          if (isAbort(error)) return 0 // stopped while starting (e.g. waiting for NATS): nothing was taken
          throw error
        }
        process.on("SIGHUP", () => void collector.reloadEnrollment())
        await Promise.race([stopped, collector.done])
        await collector.stop()
        return 0
      },
    },
    {
      name: "check-config",
      summary: "check a config as run would, and exit (0: ok)",
      usage: "check-config --config <file> [--environment]",
      description:
        "Checks the schema, sizes against each other, the HTTP access rules, enrolled_keys, data_dir and the\n" +
        "DuckDB file writable, the HTTP and local NATS ports free. --environment also reaches NATS (the stream)\n" +
        "or checks nats-server, and opens the DuckDB file.",
      options: {
        ...CONFIG_OPTION,
        environment: { type: "boolean", help: "also try NATS and DuckDB" },
      },
      async run(ctx) {
        const { path, config } = load(ctx, "check-config", true)
        if (ctx.values.environment) {
          const { checkCollectorEnvironment } = await import("./environment.ts")
          for (const line of await checkCollectorEnvironment(config)) console.log(line)
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
        if (!ctx.values.print) throw new UsageError("cli_usage", "outpost-collector config needs --print")
        const format = ctx.values.format ?? "toml"
        if (format !== "toml" && format !== "json") {
          throw new UsageError("cli_usage", `--format must be toml or json, got '${String(format)}'`)
        }
        const path = required(ctx, "config", "outpost-collector config")
        process.stdout.write(printableConfig(loadConfigFile(path, CollectorConfigSchema), format))
        return 0
      },
    },
    {
      name: "enroll",
      summary: "add an agent's public key to enrolled_keys (a running collector picks it up within a second)",
      usage: "enroll --config <file> ('<key line>' | --file <agent.key.pub>)",
      options: {
        ...CONFIG_OPTION,
        file: { type: "string", short: "f", help: "<path>  the agent's .pub file" },
      },
      positionals: { min: 0, max: 8, name: "key line words" },
      run(ctx) {
        const { config } = load(ctx, "enroll", false)
        const file = ctx.values.file as string | undefined
        const line = file ? readFileSync(file, "utf8") : ctx.positionals.join(" ")
        if (!line.trim())
          throw new UsageError("cli_usage", "enroll needs a public key line or --file <agent.key.pub>")
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
      },
    },
    {
      name: "quarantine",
      summary: "list or discard envelopes waiting in the quarantine",
      usage: "quarantine (list | discard (--agent <id> | --reason <reason> | --all)) --config <file>",
      options: {
        ...CONFIG_OPTION,
        agent: { type: "string", help: "<id>  only this agent's envelopes" },
        reason: { type: "string", help: "<reason>  only envelopes refused for this reason" },
        all: { type: "boolean", help: "discard everything" },
      },
      positionals: { min: 1, max: 1, name: "action (list or discard)" },
      async run(ctx) {
        const { config } = load(ctx, "quarantine", false)
        const { quarantineCommand } = await import("./quarantine.ts")
        const filter = {
          agent: ctx.values.agent as string | undefined,
          reason: ctx.values.reason as string | undefined,
          all: ctx.values.all === true,
        }
        return await quarantineCommand(config, ctx.positionals[0], filter, (line) => console.log(line))
      },
    },
  ],
}

await runProgram(program, process.argv.slice(2))
