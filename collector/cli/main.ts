#!/usr/bin/env bun
import { configForCommand, parseArgs, runCli } from "../../shared/cli.ts"
import { VERSION } from "../../shared/version.ts"
import { CollectorConfigSchema } from "../config/schema.ts"
import { startCollector } from "../service.ts"

const HELP = `outpost-collector ${VERSION}: verifies signed envelopes from JetStream and writes them to DuckDB

Usage:
  outpost-collector run --config <file.toml|file.json>     run the collector (default command)
  outpost-collector check-config --config <file>           validate a config file and exit
  outpost-collector --help | --version

Without [nats].url in the config the collector starts a local nats-server (store under data_dir/nats).
HTTP: /health, /status, /metrics (Prometheus), /sql?q=SELECT... (read-only). See README.md.
Signals: SIGTERM/SIGINT finish the batch in hand, commit, ack, close DuckDB and exit 0.`

const log = (message: string) => console.log(`${new Date().toISOString()} collector: ${message}`)

await runCli(async () => {
  const args = parseArgs(process.argv.slice(2))
  if (args.switches.has("help")) return void console.log(HELP)
  if (args.switches.has("version")) return void console.log(VERSION)
  const command = args.command ?? "run"
  const config = configForCommand(command, args, CollectorConfigSchema, HELP)
  if (!config) return 0
  const collector = await startCollector(config, log)
  const stop = () => void collector.stop().then(() => process.exit(0))
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
  await collector.done
  await collector.stop()
  return 0
})
