import type { DuckDBInstance } from "@duckdb/node-api"
import type { Logger } from "../../shared/logger.ts"
import type { AgentPresence } from "../kinds/heartbeats/index.ts"
import type { AlertsConfig } from "./config.ts"
import { DeliveryStore, type DeliveryTarget, DeliveryWorker } from "./deliveries/index.ts"
import { AlertEngine } from "./engine.ts"
import { AlertHistory } from "./history.ts"
import { createPreviewLinker, loadPreviewKey } from "./preview-links.ts"
import { createTarget, createTargetBudget } from "./targets/index.ts"

/** How often presence is judged, groups are asked and due deliveries sent. */
const TICK_MS = 1000

/** /status's view of alerting: each target's state and its deliveries by state. */
export type AlertsStatus = {
  targets: {
    name: string
    type: string
    stopped: string | null
    throttled_until: string | null
    last_error: string | null
    deliveries: Record<string, number>
  }[]
}

export type Alerting = {
  engine: AlertEngine
  worker: DeliveryWorker
  status(): Promise<AlertsStatus>
  stop(): Promise<void>
}

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
  /** when the collector started: no agent is judged silent from before it */
  startedAt?: number
  metrics?: {
    alertMessages(n: number, labels: Record<string, string>): void
    alertSends(n: number, labels: Record<string, string>): void
  }
}): Promise<Alerting | undefined> {
  if (o.config.targets.length === 0) return undefined
  const now = o.now ?? Date.now
  const conn = await o.instance.connect()
  const store = await DeliveryStore.open(conn)
  const history = await AlertHistory.open(conn)
  const targets = new Map<string, DeliveryTarget>(
    o.config.targets.map((t) => [t.name, { target: createTarget(t), budget: createTargetBudget(t, now()) }]),
  )
  const worker = new DeliveryWorker(store, targets, (target, outcome) =>
    o.metrics?.alertSends(1, { target, outcome }),
  )
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
    history,
    worker,
    presence: o.presence,
    startedAt: o.startedAt ?? now(),
    logger: o.logger,
    onMessage: (rule, status) => o.metrics?.alertMessages(1, { rule, status }),
  })
  const restored = await engine.restore()
  if (restored > 0)
    o.logger.info(`alerting: ${restored} open alert group(s) taken back from before the restart`)
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
    async status() {
      const counts = await store.counts()
      return {
        targets: o.config.targets.map((t) => {
          const s = worker.targetStates().get(t.name)
          return {
            name: t.name,
            type: t.type,
            stopped: s?.stopped ?? null,
            throttled_until: s?.throttledUntil ? new Date(s.throttledUntil).toISOString() : null,
            last_error: s?.lastError ?? null,
            deliveries: Object.fromEntries(
              counts.filter((c) => c.target === t.name).map((c) => [c.state, c.n]),
            ),
          }
        }),
      }
    },
    async stop() {
      abort.abort()
      clearTimeout(timer)
      await running
    },
  }
}
