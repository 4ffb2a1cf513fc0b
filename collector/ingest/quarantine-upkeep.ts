import { safeText } from "../../shared/log-text.ts"
import type { Logger } from "../../shared/logger.ts"
import type { CollectorMetrics } from "../metrics/collector-metrics.ts"
import { QUARANTINE_REASONS, type Quarantine } from "./quarantine.ts"

export type QuarantineUpkeepOptions = {
  quarantine: Quarantine
  metrics: CollectorMetrics
  log: Logger
  /** runs every quarantined envelope through ingest again; returns how many were looked at */
  replay(): Promise<number>
}

/** Replays of the quarantine (one at a time) and the gauges that say what waits in it. */
export type QuarantineUpkeep = {
  /** replays now and logs the outcome; returns how many envelopes were looked at (0 when it failed) */
  replay(why: string): Promise<number>
  /** starts a replay without waiting; changes during a replay get one more after it */
  replaySoon(why: string): void
  /** reads the quarantine's totals into the gauges (keeps the last values while NATS is down) */
  refresh(): Promise<void>
  /** quarantined envelopes of one agent, as last counted */
  quarantined(agent: string): number
  /** the collector is stopping: a replay cut short by it is not a problem worth a warning */
  stop(): void
}

export function createQuarantineUpkeep(o: QuarantineUpkeepOptions): QuarantineUpkeep {
  const { metrics, log } = o
  let byAgent = new Map<string, number>()
  let replaying: Promise<number> | undefined
  let replayAgain = false
  let stopping = false
  const ingested = () => metrics.registry.value("outpost_collector_quarantine_ingested_total")

  async function refresh(): Promise<void> {
    try {
      const totals = await o.quarantine.totals()
      metrics.quarantineBytes(totals.bytes)
      const byReason = new Map<string, number>()
      const agents = new Map<string, number>()
      for (const g of await o.quarantine.groups()) {
        byReason.set(g.reason, (byReason.get(g.reason) ?? 0) + g.messages)
        agents.set(g.agent, (agents.get(g.agent) ?? 0) + g.messages)
      }
      byAgent = agents
      for (const reason of QUARANTINE_REASONS)
        metrics.quarantineMessages(byReason.get(reason) ?? 0, { reason })
    } catch {
      // NATS down: the gauges keep their last values, /health says why
    }
  }

  async function replay(why: string): Promise<number> {
    try {
      const before = ingested()
      const seen = await o.replay()
      if (seen > 0)
        log.info(
          `quarantine replay (${why}): ${ingested() - before} of ${seen} envelope(s) ingested or already stored`,
        )
      await refresh()
      return seen
    } catch (error) {
      const message = `quarantine replay (${why}) failed: ${safeText((error as Error).message)}`
      if (stopping) log.debug(message)
      else log.warn(message)
      return 0
    }
  }

  function replaySoon(why: string): void {
    if (stopping) return
    if (replaying) {
      replayAgain = true
      return
    }
    replaying = replay(why).finally(() => {
      replaying = undefined
      if (replayAgain) {
        replayAgain = false
        replaySoon(why)
      }
    })
  }

  return {
    replay,
    replaySoon,
    refresh,
    quarantined: (agent) => byAgent.get(agent) ?? 0,
    stop: () => {
      stopping = true
    },
  }
}
