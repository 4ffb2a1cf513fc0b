import { expect, test } from "bun:test"
import type { TransportStats } from "./logs-transport.ts"
import { createShippingSummary } from "./summary.ts"

test("a summary says what changed since the last one, and nothing while nothing did", () => {
  let t = 0
  const stats: TransportStats = {
    envelopes: 0,
    lines: 0,
    bytes: 0,
    retries: 0,
    duplicateFirstPublish: 0,
    pendingBytes: 0,
    inFlight: 0,
  }
  const summary = createShippingSummary(stats, () => t)
  t += 60_000
  expect(summary()).toBeUndefined()
  Object.assign(stats, { envelopes: 3, lines: 1200, bytes: 3 * 1048576, inFlight: 1, pendingBytes: 2048 })
  t += 60_000
  expect(summary()).toBe(
    "shipped 1200 lines in 3 envelopes (3.0 MiB) in the last 60 s; 1200 lines since start, in flight 1, queued 2 KiB",
  )
  t += 60_000
  expect(summary()).toBeUndefined() // the same totals: an idle agent is quiet
  Object.assign(stats, { retries: 4, duplicateFirstPublish: 1 })
  t += 120_000
  expect(summary()).toBe(
    "shipped 0 lines in 0 envelopes (0.0 MiB) in the last 120 s; 4 failed attempts retried, 1 ids published by someone else first; 1200 lines since start, in flight 1, queued 2 KiB",
  )
})
