import { DuckDBInstance } from "@duckdb/node-api"
import { parseConfig } from "../../shared/config/index.ts"
import { recordingLogger } from "../../test/harness/index.ts"
import type { AgentPresence } from "../kinds/heartbeats/index.ts"
import { AlertsConfigSchema } from "./config.ts"
import { DeliveryStore, DeliveryWorker } from "./deliveries/index.ts"
import { AlertEngine } from "./engine.ts"
import { AlertHistory } from "./history.ts"
import { createWebhookTarget, webhookBucket } from "./targets/index.ts"

/** Tests' clock: seconds after a fixed start. */
export const S = 1000
export const T0 = Date.UTC(2030, 0, 1)

/** A presence entry of an agent last heard at `at`. */
export const heard = (at: number): AgentPresence => ({
  host: "h",
  entryId: 1,
  lastSentAt: at,
  lastReceivedAt: at,
  version: "v",
  startedAt: 0,
  intervalS: 1,
  previewUrl: null,
})

/** A matched line `n` of /var/log/app.log on `agent`, as matchedLines gives it. */
export const match = (n: number, agent = "edge-1") => ({
  agent,
  host: "h",
  file: "/var/log/app.log",
  gen: "g",
  offset: n * 10,
  rule: "error",
  text: `ERROR ${n}`,
  bytes: 7,
})

/**
 * An engine on the DuckDB file at `path` sending to one webhook target `ops` at `hookUrl`, as the collector
 * starts it: its open groups taken back first. `alerts` is the rest of the [alerts] config.
 */
export async function startTestEngine(o: {
  path: string
  hookUrl: string
  alerts: Record<string, unknown>
  presence?: () => ReadonlyMap<string, AgentPresence>
}) {
  const instance = await DuckDBInstance.create(o.path)
  const conn = await instance.connect()
  const store = await DeliveryStore.open(conn)
  const history = await AlertHistory.open(conn)
  const config = parseConfig(
    { targets: [{ name: "ops", type: "webhook", url: o.hookUrl }], ...o.alerts },
    AlertsConfigSchema,
  )
  const target = createWebhookTarget({ name: "ops", url: o.hookUrl })
  const worker = new DeliveryWorker(store, new Map([["ops", { target, budget: webhookBucket(600, T0) }]]))
  const engine = new AlertEngine({
    config,
    store,
    history,
    worker,
    presence: o.presence ?? (() => new Map()),
    startedAt: T0,
    logger: recordingLogger("alerts"),
  })
  const restored = await engine.restore()
  const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJson()
  return { engine, restored, rows, close: () => instance.closeSync() }
}
