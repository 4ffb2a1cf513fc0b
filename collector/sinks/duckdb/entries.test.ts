import { describe, expect, test } from "bun:test"
import type { DroppedReport } from "../../../shared/protocol/entries-body.ts"
import type { ReceivedEnvelope } from "../../../shared/protocol/envelope.ts"
import type { Range } from "./coverage.ts"
import { coverageKey, selectNewEntries } from "./entries.ts"
import type { AcceptedEnvelope } from "./types.ts"

const key = coverageKey("edge-1", "urls")

/** An accepted urls envelope of edge-1 with these entry ids and drop report. */
function envelope(ids: number[], dropped?: DroppedReport): AcceptedEnvelope {
  return {
    meta: { agent: "edge-1", host: "h", kind: "urls" } as ReceivedEnvelope,
    streamSeq: 1,
    bytes: 1,
    entries: { v: 1, entries: ids.map((id) => ({ id })), ...(dropped ? { dropped } : {}) },
  }
}

const select = (envelopes: AcceptedEnvelope[], stored: Range[] = []) => {
  const coverage = new Map<string, Range[]>(stored.length > 0 ? [[key, stored]] : [])
  const selected = selectNewEntries(envelopes, coverage)
  return {
    ids: (selected.rows.get("urls") ?? []).map((r) => r.entry.id),
    gaps: selected.gaps.map((g) => g.dropped),
    coverage: coverage.get(key) ?? [],
  }
}

describe("selectNewEntries", () => {
  test("entries stored already, or earlier in the batch, are skipped", () => {
    const r = select([envelope([4, 5, 6]), envelope([5, 6, 7])], [{ start: 1, end: 5 }])
    expect(r.ids).toEqual([5, 6, 7])
    expect(r.coverage).toEqual([{ start: 1, end: 8 }])
  })

  test("a drop report is a gap once; its ids count as accounted for", () => {
    const r = select([envelope([11, 12], { count: 4, before_id: 11 })], [{ start: 1, end: 7 }])
    expect(r.gaps).toEqual([{ count: 4, before_id: 11 }])
    expect(r.coverage).toEqual([{ start: 1, end: 13 }])
  })

  test("the same report again (republished after an agent restart, or redelivered) adds no gap", () => {
    const first = envelope([11, 12], { count: 4, before_id: 11 })
    expect(select([first, first]).gaps).toEqual([{ count: 4, before_id: 11 }])
    expect(select([first], [{ start: 7, end: 13 }]).gaps).toEqual([])
  })

  test("a report over ids that were stored (sent before the agent dropped them) records only the lost ones", () => {
    // 1-6 stored by a publish whose ack the agent never saw; it then dropped 3-10 while NATS was away
    const r = select([envelope([11], { count: 8, before_id: 11 })], [{ start: 1, end: 7 }])
    expect(r.gaps).toEqual([{ count: 4, before_id: 11 }])
    expect(r.ids).toEqual([11])
  })

  test("a report split by stored ids records each lost stretch", () => {
    const r = select([envelope([20], { count: 10, before_id: 20 })], [{ start: 13, end: 15 }])
    expect(r.gaps).toEqual([
      { count: 3, before_id: 13 },
      { count: 5, before_id: 20 },
    ])
    expect(r.coverage).toEqual([{ start: 10, end: 21 }])
  })
})
