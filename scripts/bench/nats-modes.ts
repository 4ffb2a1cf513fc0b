/**
 * How a bench's NATS is set up: `plain` (a nats-server without auth, the figures before NATS auth existed),
 * `auth` (the collector's own local nats-server: the collector with its password, the agent with the NKEY of
 * its signing key) or `tls` (the same with `[nats.local_tls]`, certificates from a CA made with openssl).
 */
import { appendFileSync, existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import type { ConnectionOptions } from "@nats-io/transport-node"
import { type CollectorConfig, CollectorConfigSchema } from "../../collector/config/schema.ts"
import { collectorConnectOptions, localNatsOptions } from "../../collector/nats/connect.ts"
import { loadEnrolledAgents } from "../../collector/nats/enrolled-agents.ts"
import { startLocalNatsServer } from "../../collector/nats/local-server.ts"
import { makeTestCerts } from "../../collector/nats/test-certs.ts"
import { parseConfig } from "../../shared/config/load.ts"
import { createLogger } from "../../shared/logger.ts"
import { freePort } from "../../test/harness/ports.ts"
import { onCleanup } from "./lifecycle.ts"
import { type ProcFigures, type ProcMonitor, processTree, readProc } from "./proc.ts"
import { type Keys, makeKeys, startNats, writeAgentConfig, writeCollectorConfig } from "./product.ts"

export const NATS_MODES = ["plain", "auth", "tls"] as const
export type NatsMode = (typeof NATS_MODES)[number]

/** The `--nats` option's value, checked. */
export function natsMode(value: string): NatsMode {
  const mode = NATS_MODES.find((m) => m === value)
  if (!mode) throw new Error(`--nats must be one of ${NATS_MODES.join(", ")}, not '${value}'`)
  return mode
}

/** One line saying what a mode runs. */
export function describeNatsMode(mode: NatsMode): string {
  if (mode === "plain") return "plain (nats-server without auth)"
  const auth = "collector's local nats-server, collector password + agent NKEY"
  return mode === "auth" ? `auth (${auth})` : `tls (${auth}, TLS with a CA from openssl)`
}

/** A JetStream server for a run without collector, and how the bench and the agent reach it. */
export type BenchNats = {
  url: string
  pid: number | undefined
  /** nats.js options the bench connects with (creating the stream, reading its figures) */
  client: ConnectionOptions
  /** the agent's `nats` table */
  agentNats: Record<string, unknown>
  stop(): Promise<void>
}

/**
 * `plain`: the harness's nats-server without auth. `auth`/`tls`: nats-server started by the collector's own
 * code from a collector config, with `keys` enrolled, exactly as `outpost-collector run` starts it (config file,
 * NKEY users, password, supervision), but without the rest of the collector.
 */
export async function startBenchNats(
  dir: string,
  name: string,
  mode: NatsMode,
  keys: Keys,
): Promise<BenchNats> {
  if (mode === "plain") {
    const nats = await startNats(join(dir, name))
    return {
      url: nats.url,
      pid: nats.pid,
      client: {},
      agentNats: { servers: [nats.url] },
      stop: () => nats.stop(),
    }
  }
  const logPath = join(dir, `${name}.log`)
  const log = createLogger({ component: "collector", write: (line) => appendFileSync(logPath, `${line}\n`) })
  const config = parseConfig(
    {
      data_dir: join(dir, name),
      enrolled_keys: keys.publicPath,
      nats: await localNatsTable(dir, mode),
    },
    CollectorConfigSchema,
  )
  const local = await startLocalNatsServer(
    localNatsOptions(config, loadEnrolledAgents(config.enrolled_keys), log, {
      onFatal: (error) => log.error(error.message),
    }),
  )
  onCleanup("local nats-server", () => local.stop())
  return {
    url: local.url,
    pid: local.pid,
    client: collectorConnectOptions(config, local),
    agentNats: agentNatsTable(local.url, dir, mode),
    stop: () => local.stop(),
  }
}

// The collector's and the agent's `nats` tables for a collector that starts its own nats-server.
async function stackNatsTables(
  dir: string,
  mode: Exclude<NatsMode, "plain">,
): Promise<{ collectorNats: Record<string, unknown>; agentNats: Record<string, unknown> }> {
  const collectorNats = await localNatsTable(dir, mode)
  const url = `${mode === "tls" ? "tls" : "nats"}://127.0.0.1:${collectorNats.local_port}`
  return { collectorNats, agentNats: agentNatsTable(url, dir, mode) }
}

// The collector's `nats` table for its local server on a free port; `tls` adds `local_tls`.
async function localNatsTable(
  dir: string,
  mode: NatsMode,
): Promise<Record<string, unknown> & { local_port: number }> {
  const table = { local_port: await freePort() }
  if (mode !== "tls") return table
  const certs = benchCerts(dir)
  return {
    ...table,
    local_tls: {
      cert_file: certs.serverCert,
      key_file: certs.serverKey,
      ca_file: certs.caFile,
      verify_clients: false,
    },
  } satisfies Partial<CollectorConfig["nats"]>
}

// The agent's `nats` table: its auth stays the default, `agent_key`.
function agentNatsTable(url: string, dir: string, mode: NatsMode): Record<string, unknown> {
  return mode === "tls" ? { servers: [url], tls: { ca_file: benchCerts(dir).caFile } } : { servers: [url] }
}

// One CA and server certificate per bench dir, shared by its runs.
function benchCerts(dir: string) {
  const certsDir = join(dir, "certs")
  const exists = existsSync(join(certsDir, "server.pem"))
  mkdirSync(certsDir, { recursive: true })
  if (!exists) makeTestCerts(certsDir)
  return {
    caFile: join(certsDir, "test-ca.pem"),
    serverCert: join(certsDir, "server.pem"),
    serverKey: join(certsDir, "server.key"),
  }
}

/** The pid of a descendant of `pid` by command name (the nats-server a collector started), if running. */
export function findDescendant(pid: number, comm: string): number | undefined {
  return processTree(pid)
    .slice(1)
    .find((p) => readProc(p)?.comm === comm)
}

/**
 * The figures of a monitored process tree without a subtree monitored on its own (a collector without the
 * nats-server it started): CPU minus the child's; peak RSS the main process's own VmHWM, and the sampled tree
 * RSS minus the child's nearest sample.
 */
export function figuresWithout(tree: ProcMonitor, child: ProcMonitor): ProcFigures {
  const t = tree.figures()
  const c = child.figures()
  let sampledPeak = 0
  let j = 0
  for (const s of tree.series) {
    while (
      j + 1 < child.series.length &&
      Math.abs((child.series[j + 1]?.t ?? 0) - s.t) <= Math.abs((child.series[j]?.t ?? 0) - s.t)
    )
      j++
    sampledPeak = Math.max(sampledPeak, s.rss - (child.series[j]?.rss ?? 0))
  }
  return {
    ...t,
    cpuSeconds: t.cpuSeconds - c.cpuSeconds,
    peakRssBytes: Math.max(t.hwmBytes, sampledPeak),
    sampledPeakRssBytes: sampledPeak,
    rssNowBytes: Math.max(0, t.rssNowBytes - c.rssNowBytes),
  }
}

/**
 * Agent and collector configs (files `<name>` + suffix) for a collector that starts its own nats-server, the
 * agent's key enrolled; the server runs once the collector does (find it with `findDescendant`).
 */
export async function prepareLocalStack(
  dir: string,
  mode: Exclude<NatsMode, "plain">,
  o: { agentId: string; suffix: string; logs: Record<string, unknown>[] },
) {
  const keys = makeKeys(dir, o.agentId)
  const { collectorNats, agentNats } = await stackNatsTables(dir, mode)
  const collectorConfig = await writeCollectorConfig(join(dir, `collector${o.suffix}.json`), {
    dataDir: join(dir, `collector${o.suffix}`),
    keys,
    nats: collectorNats,
  })
  const agentConfig = writeAgentConfig(join(dir, `agent${o.suffix}.json`), {
    agentId: o.agentId,
    stateDir: join(dir, `agent-state${o.suffix}`),
    keys,
    nats: agentNats,
    logs: o.logs,
  })
  return { keys, collectorConfig, agentConfig }
}
