import type { DuckDBInstance } from "@duckdb/node-api"
import type { Logger } from "../../shared/logger.ts"
import type { AgentPresence } from "../kinds/heartbeats/index.ts"
import type { AlertsConfig } from "./config.ts"
import { DeliveryStore, type DeliveryTarget, DeliveryWorker } from "./deliveries/index.ts"
import { AlertEngine } from "./engine.ts"
import { createPreviewLinker, loadPreviewKey } from "./preview-links.ts"
import { createTarget, createTargetBudget } from "./targets/index.ts"

/** How often presence is judged, groups are asked and due deliveries sent. */
const TICK_MS = 1000

export type Alerting = { engine: AlertEngine; worker: DeliveryWorker; stop(): Promise<void> }

/**
 * Starts alerting on the collector's DuckDB (a connection of its own beside the writer's): undefined when
 * `[alerts]` has no target. Ticks once a second, one tick at a time; `stop` waits for the tick in progress.
 */
export async function startAlerting(o: {
  config: AlertsConfig
  instance: DuckDBInstance
  presence: () => ReadonlyMap<string, AgentPresence>
  logger: Logger
  now?: () => number
}): Promise<Alerting | undefined> {
  if (o.config.targets.length === 0) return undefined
  const now = o.now ?? Date.now
  const store = await DeliveryStore.open(await o.instance.connect())
  const targets = new Map<string, DeliveryTarget>(
    o.config.targets.map((t) => [t.name, { target: createTarget(t), budget: createTargetBudget(t, now()) }]),
  )
  const worker = new DeliveryWorker(store, targets)
  const key = o.config.preview_key_file ? loadPreviewKey(o.config.preview_key_file) : undefined
  const engine = new AlertEngine({
    ...(key
      ? {
          link: createPreviewLinker({
            key,
            ttlMs: o.config.preview_link_ttl_s * 1000,
            presence: o.presence,
            now,
          }),
        }
      : {}),
    config: o.config,
    store,
    worker,
    presence: o.presence,
    startedAt: now(),
    logger: o.logger,
  })
  const abort = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  let running: Promise<void> = Promise.resolve()
  const loop = () => {
    running = engine
      .tick(now(), abort.signal)
      .catch((error) => o.logger.error(`alerting: ${(error as Error).message}`))
      .finally(() => {
        if (!abort.signal.aborted) timer = setTimeout(loop, TICK_MS)
      })
  }
  loop()
  o.logger.info(
    `alerting to ${[...targets.keys()].join(", ")}: ${o.config.rules.map((r) => r.name).join(", ")}`,
  )
  return {
    engine,
    worker,
    async stop() {
      abort.abort()
      clearTimeout(timer)
      await running
    },
  }
}
