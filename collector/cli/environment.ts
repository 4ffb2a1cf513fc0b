import { spawnSync } from "node:child_process"
import { jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { OutpostError } from "../../shared/errors.ts"
import { natsServerPath } from "../../shared/nats-server-path.ts"
import { duckdbPathOf } from "../config/checks.ts"
import type { CollectorConfig } from "../config/schema.ts"
import { collectorConnectOptions } from "../nats/connect.ts"

/**
 * `check-config --environment`: with an external NATS ([nats] url), connects as the collector would and looks
 * for the stream; with the local one, checks that nats-server runs here. Then opens the DuckDB file (read-only:
 * a running collector holds it, which is said, not an error). Returns what it found; throws on a problem.
 */
export async function checkCollectorEnvironment(config: CollectorConfig): Promise<string[]> {
  const lines: string[] = []
  if (config.nats.url) {
    const options = collectorConnectOptions(config)
    let nc: Awaited<ReturnType<typeof connect>>
    try {
      nc = await connect({ ...options, timeout: 5000, waitOnFirstConnect: false })
    } catch (error) {
      throw new OutpostError(
        "nats_unreachable",
        `nats: cannot connect to ${config.nats.url}: ${(error as Error).message}`,
      )
    }
    try {
      const jsm = await jetstreamManager(nc)
      const info = await jsm.streams.info(config.stream.name).catch(() => undefined)
      lines.push(`nats: connected to ${nc.getServer()}`)
      lines.push(
        info
          ? `stream ${config.stream.name}: ${info.state.messages} messages, ${info.state.bytes} bytes`
          : `stream ${config.stream.name}: not there yet (the collector creates it when it starts)`,
      )
    } finally {
      await nc.close().catch(() => {})
    }
  } else {
    const path = natsServerPath()
    const run = spawnSync(path, ["--version"], { encoding: "utf8" })
    if (run.status !== 0) {
      throw new OutpostError(
        "nats_server_missing",
        `nats: no [nats] url, so the collector starts nats-server, but '${path} --version' failed (${run.error?.message ?? run.stderr.trim()}); install it (Debian: apt-get install nats-server)`,
      )
    }
    lines.push(
      `nats: local ${run.stdout.trim()} (${path}) on ${config.nats.local_host}:${config.nats.local_port}`,
    )
  }
  const duckdb = duckdbPathOf(config)
  try {
    const { DuckDBInstance } = await import("@duckdb/node-api")
    const db = await DuckDBInstance.create(duckdb, { access_mode: "READ_ONLY" })
    db.closeSync()
    lines.push(`duckdb: ${duckdb} opens`)
  } catch (error) {
    const message = (error as Error).message
    if (/No such file|does not exist/i.test(message)) lines.push(`duckdb: ${duckdb} will be created`)
    else if (/lock/i.test(message)) lines.push(`duckdb: ${duckdb} is held by a running collector`)
    else throw new OutpostError("duckdb_unusable", `duckdb: cannot open ${duckdb}: ${message.split("\n")[0]}`)
  }
  return lines
}
