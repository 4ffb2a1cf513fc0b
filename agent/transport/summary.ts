import type { TransportStats } from "./logs-transport.ts"

type Totals = Pick<TransportStats, "envelopes" | "lines" | "bytes" | "retries" | "duplicateFirstPublish">

const totals = (s: TransportStats): Totals => ({
  envelopes: s.envelopes,
  lines: s.lines,
  bytes: s.bytes,
  retries: s.retries,
  duplicateFirstPublish: s.duplicateFirstPublish,
})

/**
 * Returns a function that describes what was shipped since its last call, or undefined when nothing changed
 * (an idle agent stays quiet). Meant for a line a minute.
 */
export function createShippingSummary(
  stats: TransportStats,
  now: () => number = Date.now,
): () => string | undefined {
  let last = totals(stats)
  let lastAt = now()
  return () => {
    const t = totals(stats)
    const d = {
      envelopes: t.envelopes - last.envelopes,
      lines: t.lines - last.lines,
      bytes: t.bytes - last.bytes,
      retries: t.retries - last.retries,
      duplicateFirstPublish: t.duplicateFirstPublish - last.duplicateFirstPublish,
    }
    const at = now()
    const seconds = Math.round((at - lastAt) / 1000)
    last = t
    lastAt = at
    if (Object.values(d).every((v) => v === 0)) return undefined
    const extra = [
      ...(d.retries > 0 ? [`${d.retries} failed attempts retried`] : []),
      ...(d.duplicateFirstPublish > 0
        ? [`${d.duplicateFirstPublish} ids published by someone else first`]
        : []),
    ]
    return (
      `shipped ${d.lines} lines in ${d.envelopes} envelopes (${(d.bytes / 1048576).toFixed(1)} MiB) in the last ` +
      `${seconds} s${extra.length > 0 ? `; ${extra.join(", ")}` : ""}; ${t.lines} lines since start, ` +
      `in flight ${stats.inFlight}, queued ${(stats.pendingBytes / 1024).toFixed(0)} KiB`
    )
  }
}
