import type { Logger } from "../../shared/logger.ts"
import type { CollectorMetrics } from "./collector-metrics.ts"

/**
 * One info line with the totals since start, written by `tick()` only when they changed since the last line:
 * an idle collector writes nothing.
 */
export function createProgressLog(metrics: CollectorMetrics, log: Logger): { tick(): void } {
  const r = metrics.registry
  const summary = () =>
    `written ${r.value("outpost_collector_rows_written_total", { table: "log_lines" })} lines from ${r.value("outpost_collector_envelopes_accepted_total")} envelopes; rejected ${r.sum("outpost_collector_envelopes_rejected_total")}, quarantined ${r.sum("outpost_collector_envelopes_quarantined_total")}, duplicates ${r.value("outpost_collector_envelopes_duplicate_total")}, failed writes ${r.value("outpost_collector_flush_failures_total")}`
  let last = summary()
  return {
    tick() {
      const line = summary()
      if (line === last) return
      last = line
      log.info(line)
    },
  }
}

/** Ticks a progress log every `intervalMs`; returns a function that stops it. */
export function startProgressLog(metrics: CollectorMetrics, log: Logger, intervalMs = 30_000): () => void {
  const progress = createProgressLog(metrics, log)
  const timer = setInterval(() => progress.tick(), intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
