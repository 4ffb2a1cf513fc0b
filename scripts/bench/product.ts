/** Starting and observing Outpost's parts: nats-server, stream, configs, agent and collector processes. */
import { Database } from "bun:sqlite"
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { jetstreamManager } from "@nats-io/jetstream"
import { type ConnectionOptions, connect } from "@nats-io/transport-node"
import { keygen } from "../../agent/cli/keygen.ts"
import { CollectorConfigSchema } from "../../collector/config/schema.ts"
import { ensureStreamAndConsumer } from "../../collector/ingest/stream-setup.ts"
import { parseConfig } from "../../shared/config/load.ts"
import { type NatsServer, startNatsServer } from "../../test/harness/nats-server.ts"
import { freePort, waitFor } from "../../test/harness/ports.ts"
import {
  agentCommand,
  type Child,
  collectorCommand,
  spawnLogged,
  writeConfig,
} from "../../test/harness/processes.ts"
import { querySql } from "../../test/harness/sql.ts"

import { onCleanup } from "./lifecycle.ts"
import { findOwnChild, ProcMonitor } from "./proc.ts"

/** A nats-server with JetStream and its store in `storeDir` (removed at cleanup with the bench dir). */
export async function startNats(storeDir: string): Promise<NatsServer & { pid: number | undefined }> {
  mkdirSync(storeDir, { recursive: true })
  const nats = await startNatsServer({ storeDir })
  onCleanup("nats-server", () => nats.stop())
  return Object.assign(nats, { pid: findOwnChild("nats-server") })
}

/** The collector's config with its defaults for this NATS URL (what the bench's collectors run with). */
export function collectorDefaults(natsUrl: string) {
  return parseConfig(
    { data_dir: "unused", enrolled_keys: "unused", nats: { url: natsUrl } },
    CollectorConfigSchema,
  )
}

/** Creates the stream and consumer exactly as a collector with default settings would (`client`: auth, TLS). */
export async function ensureStream(natsUrl: string, client: ConnectionOptions = {}): Promise<void> {
  const nc = await connect({ ...client, servers: natsUrl, name: "outpost-bench" })
  try {
    await ensureStreamAndConsumer(await jetstreamManager(nc), collectorDefaults(natsUrl))
  } finally {
    await nc.close()
  }
}

export type StreamFigures = { bytes: number; messages: number; maxPayload: number }

/** Stored bytes and messages of the collector's stream. */
export async function streamFigures(natsUrl: string, client: ConnectionOptions = {}): Promise<StreamFigures> {
  const nc = await connect({ ...client, servers: natsUrl, name: "outpost-bench" })
  try {
    const jsm = await jetstreamManager(nc)
    const info = await jsm.streams.info(collectorDefaults(natsUrl).stream.name)
    return { bytes: info.state.bytes, messages: info.state.messages, maxPayload: nc.info?.max_payload ?? 0 }
  } finally {
    await nc.close()
  }
}

export type Keys = { privatePath: string; publicPath: string }
export function makeKeys(dir: string, agentId: string): Keys {
  return keygen(join(dir, "keys", `${agentId}.key`), agentId, true)
}

/** Where a config points: `natsUrl` (the agent's `servers`, the collector's `url`) or a whole `nats` table. */
export type NatsTarget =
  | { natsUrl: string; nats?: never }
  | { nats: Record<string, unknown>; natsUrl?: never }

export function writeAgentConfig(
  path: string,
  o: { agentId: string; stateDir: string; keys: Keys; logs: Record<string, unknown>[] } & NatsTarget,
  extra: Record<string, unknown> = {},
): string {
  return writeConfig(path, {
    agent_id: o.agentId,
    host: "bench-host",
    state_dir: o.stateDir,
    private_key_file: o.keys.privatePath,
    // any free port: several agents may run at once
    http: { port: 0 },
    nats: o.nats ?? { servers: [o.natsUrl] },
    logs: o.logs,
    ...extra,
  })
}

export async function writeCollectorConfig(
  path: string,
  o: { dataDir: string; keys: Keys } & NatsTarget,
): Promise<{ path: string; httpUrl: string }> {
  const port = await freePort()
  writeConfig(path, {
    data_dir: o.dataDir,
    enrolled_keys: o.keys.publicPath,
    nats: o.nats ?? { url: o.natsUrl },
    http: { port },
  })
  return { path, httpUrl: `http://127.0.0.1:${port}` }
}

/** A nats-server with its monitor, an agent key, and collector and agent configs around it (files `<name>` + suffix). */
export async function prepareStack(
  dir: string,
  o: { agentId: string; suffix: string; logs: Record<string, unknown>[] },
) {
  const nats = await startNats(join(dir, `nats${o.suffix}`))
  const natsMon = nats.pid ? new ProcMonitor(nats.pid, 500) : undefined
  const keys = makeKeys(dir, o.agentId)
  const collectorConfig = await writeCollectorConfig(join(dir, `collector${o.suffix}.json`), {
    dataDir: join(dir, `collector${o.suffix}`),
    keys,
    natsUrl: nats.url,
  })
  const agentConfig = writeAgentConfig(join(dir, `agent${o.suffix}.json`), {
    agentId: o.agentId,
    stateDir: join(dir, `agent-state${o.suffix}`),
    keys,
    natsUrl: nats.url,
    logs: o.logs,
  })
  return { nats, natsMon, keys, collectorConfig, agentConfig }
}

export type Proc = Child & { name: string; startedAt: number; monitor: ProcMonitor }

/** Spawns a product process with its output in `logPath`, monitored, and killed at cleanup if still running. */
export function spawnProduct(name: string, cmd: string[], logPath: string, sampleMs = 200): Proc {
  const startedAt = performance.now()
  const child = spawnLogged(cmd, logPath)
  const monitor = new ProcMonitor(child.proc.pid, sampleMs)
  const proc: Proc = { ...child, name, startedAt, monitor }
  onCleanup(name, async () => {
    monitor.stop()
    if (child.proc.exitCode === null && child.proc.signalCode === null) await child.kill9()
  })
  return proc
}

export function spawnAgent(configPath: string, logPath: string, binary?: string, sampleMs = 200): Proc {
  return spawnProduct("agent", agentCommand(configPath, binary), logPath, sampleMs)
}

export function spawnCollector(configPath: string, logPath: string, sampleMs = 200): Proc {
  return spawnProduct("collector", collectorCommand(configPath), logPath, sampleMs)
}

/** Waits until the process log contains `text`; fails early when the process exits. */
export async function waitForLog(p: Proc, text: string, timeoutMs = 30_000): Promise<number> {
  await waitFor(
    `${p.name} to log '${text}'`,
    async () => {
      if (p.proc.exitCode !== null) throw new Error(`${p.name} exited ${p.proc.exitCode}; see ${p.logPath}`)
      return existsSync(p.logPath) && (await Bun.file(p.logPath).text()).includes(text)
    },
    timeoutMs,
  )
  return performance.now()
}

export async function waitForHealth(p: Proc, httpUrl: string, timeoutMs = 30_000): Promise<number> {
  await waitFor(
    `${p.name} health`,
    async () => {
      if (p.proc.exitCode !== null) throw new Error(`${p.name} exited ${p.proc.exitCode}; see ${p.logPath}`)
      return (await fetch(`${httpUrl}/health`)).ok
    },
    timeoutMs,
  )
  return performance.now()
}

/** SIGTERM and wait up to `ms`; returns the exit code and how long it took, or kills it. */
export async function stopGracefully(
  p: Proc,
  ms = 20_000,
): Promise<{ code: number | null; seconds: number }> {
  p.monitor.stop()
  const started = performance.now()
  if (p.proc.exitCode !== null) return { code: p.proc.exitCode, seconds: 0 }
  p.proc.kill("SIGTERM")
  const code = await Promise.race([p.proc.exited, Bun.sleep(ms).then(() => "timeout" as const)])
  if (code === "timeout") {
    await p.kill9()
    return { code: null, seconds: (performance.now() - started) / 1000 }
  }
  return { code, seconds: (performance.now() - started) / 1000 }
}

/** Committed positions per path from the agent's state db, read-only (opened lazily once it exists). */
export class StatePositions {
  private db: Database | undefined
  constructor(private readonly stateDir: string) {}
  read(): Map<string, number> {
    const out = new Map<string, number>()
    if (!this.db) {
      const path = join(this.stateDir, "state.db")
      if (!existsSync(path) || !existsSync(`${path}-shm`)) return out
      try {
        this.db = new Database(path, { readonly: true })
      } catch {
        return out
      }
    }
    try {
      for (const row of this.db
        .query<{ path: string; position: number }, []>(
          "SELECT path, max(position) AS position FROM log_files GROUP BY path",
        )
        .all()) {
        out.set(row.path, row.position)
      }
    } catch {
      // the table may not exist yet
    }
    return out
  }
  close(): void {
    this.db?.close()
    this.db = undefined
  }
}

/** Collector /metrics as name{labels} -> value. */
export async function collectorMetrics(httpUrl: string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  try {
    const text = await (await fetch(`${httpUrl}/metrics`)).text()
    for (const line of text.split("\n")) {
      if (!line || line.startsWith("#")) continue
      const at = line.lastIndexOf(" ")
      out.set(line.slice(0, at), Number(line.slice(at + 1)))
    }
  } catch {
    // collector gone
  }
  return out
}

/** One number from a `SELECT ... AS n` query (null on error). */
export async function sqlNumber(httpUrl: string, sql: string): Promise<number | null> {
  try {
    const rows = await querySql(httpUrl, sql)
    const n = rows[0]?.n
    return n === undefined || n === null ? null : Number(n)
  } catch {
    return null
  }
}

export { querySql }
