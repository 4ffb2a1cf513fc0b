import type { MetricsRegistry } from "../../shared/metrics/registry.ts"
import { URL_OUTCOMES, type UrlOutcome } from "../../shared/protocol/urls/result.ts"
import type { UrlCheckStatus } from "../sources/urls/index.ts"

/** How late a run may start after its slot: 1 ms to 10 s (the target is p99 <= 50 ms). */
const DRIFT_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

/**
 * The URL checks' metrics, by check name (known from the config, so every series exists at 0 before the first
 * run): results by outcome, the last outcome as a state set, the last duration, runs skipped because the previous
 * one was still going, and how late runs start after their slot.
 */
export function registerUrlsMetrics(registry: MetricsRegistry, checks: readonly string[]) {
  const results = registry.counter(
    "outpost_agent_url_results_total",
    "URL check results kept in the outbox, by check and outcome (up, degraded, down)",
  )
  const outcome = registry.gauge(
    "outpost_agent_url_check_outcome",
    "1 for the outcome of the check's last result, 0 for the others (no series before its first result)",
  )
  const duration = registry.gauge(
    "outpost_agent_url_check_duration_seconds",
    "Total time of the check's last result, redirects included",
  )
  const skipped = registry.counter(
    "outpost_agent_url_check_skipped_runs_total",
    "Scheduled runs passed over because the check's previous run was still going or waiting for a slot",
  )
  const drift = registry.histogram(
    "outpost_agent_url_check_schedule_drift_seconds",
    "How late each run started after its slot on the schedule",
    DRIFT_BUCKETS_S,
  )
  for (const check of checks) {
    for (const o of URL_OUTCOMES) registry.init("outpost_agent_url_results_total", { check, outcome: o })
    registry.init("outpost_agent_url_check_skipped_runs_total", { check })
  }
  registry.init("outpost_agent_url_check_schedule_drift_seconds")
  const skipsSeen = new Map<string, number>()
  return {
    result(check: string, o: UrlOutcome): void {
      results(1, { check, outcome: o })
    },
    /** a run started `lateMs` after its slot */
    started(lateMs: number): void {
      drift(Math.max(0, lateMs) / 1000)
    },
    /** sets the gauges from the checks' status, before a render */
    update(status: readonly UrlCheckStatus[]): void {
      for (const c of status) {
        const skips = c.skips - (skipsSeen.get(c.name) ?? 0)
        if (skips > 0) skipped(skips, { check: c.name })
        skipsSeen.set(c.name, c.skips)
        if (c.outcome === null) continue
        for (const o of URL_OUTCOMES) outcome(o === c.outcome ? 1 : 0, { check: c.name, outcome: o })
        if (c.total_ms !== null) duration(c.total_ms / 1000, { check: c.name })
      }
    },
  }
}
export type UrlsMetrics = ReturnType<typeof registerUrlsMetrics>
