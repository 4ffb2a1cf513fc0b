/** bench:fairness: the collector's counters sampled over a run, and what they say about its transactions. */
import { cpuSeconds, epochMs } from "./flood-publisher.ts"
import { collectorMetrics } from "./lib.ts"

export type Sample = { at: number; received: number; flushes: number; flushSeconds: number; cpu: number }

/** One sample of the collector's /metrics counters and this process's CPU time. */
export async function counters(httpUrl: string): Promise<Sample> {
  const m = await collectorMetrics(httpUrl)
  return {
    at: epochMs(),
    received: m.get("outpost_collector_envelopes_accepted_total") ?? 0,
    flushes: m.get("outpost_collector_flush_duration_seconds_count") ?? 0,
    flushSeconds: m.get("outpost_collector_flush_duration_seconds_sum") ?? 0,
    cpu: cpuSeconds(),
  }
}

/** Average DuckDB transaction time (ms) while the received count went from `from` to `to`. */
export function transactionMs(samples: Sample[], from: number, to: number): number {
  const a = samples.find((s) => s.received >= from)
  const b = samples.find((s) => s.received >= to)
  if (!a || !b || b.flushes <= a.flushes) return Number.NaN
  return ((b.flushSeconds - a.flushSeconds) / (b.flushes - a.flushes)) * 1000
}
