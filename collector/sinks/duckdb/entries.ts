import type { DroppedReport, EntryBase } from "../../../shared/protocol/entries-body.ts"
import type { Kind } from "../../../shared/protocol/subjects.ts"
import type { EntryRow } from "../../kinds/kind.ts"
import { mergeRanges, type Range, uncovered } from "./coverage.ts"
import type { AcceptedEnvelope } from "./types.ts"

/** `agent \0 kind`: the key of an id range list in `entry_coverage`. */
export const coverageKey = (agent: string, kind: string) => `${agent}\u0000${kind}`

export type EntryGap = { agent: string; kind: Kind; dropped: DroppedReport }

export type SelectedEntries = {
  rows: Map<Kind, EntryRow<EntryBase>[]>
  gaps: EntryGap[]
  /** coverage keys whose ranges changed (their rows in entry_coverage are rewritten) */
  touched: Set<string>
}

/**
 * Keeps the entries of outbox-kind envelopes whose (agent, kind, id) is not stored yet, nor earlier in this
 * batch, in id order per agent; adds their ids to `coverage` (a working copy the writer adopts after COMMIT).
 * An entry republished after an agent restart (same ids, a new envelope) is skipped here. A drop report's ids
 * count as covered too, so that each lost id is a gap once.
 */
export function selectNewEntries(
  accepted: AcceptedEnvelope[],
  coverage: Map<string, Range[]>,
): SelectedEntries {
  const rows = new Map<Kind, EntryRow<EntryBase>[]>()
  const gaps: EntryGap[] = []
  const touched = new Set<string>()
  const envelopes = accepted
    .filter((e) => e.entries !== undefined)
    .sort((a, b) => cmp(a.meta.agent, b.meta.agent) || firstId(a) - firstId(b))
  for (const env of envelopes) {
    const body = env.entries as NonNullable<AcceptedEnvelope["entries"]>
    const { agent, host, kind } = env.meta
    const key = coverageKey(agent, kind)
    let covered = coverage.get(key) ?? []
    const added: Range[] = []
    let list = rows.get(kind)
    if (!list) {
      list = []
      rows.set(kind, list)
    }
    for (const entry of body.entries) {
      if (uncovered(covered, entry.id, entry.id + 1).length === 0) continue
      list.push({ agent, host, entry })
      added.push({ start: entry.id, end: entry.id + 1 })
    }
    if (body.dropped) {
      // Only ids neither stored nor reported before: a report shipped twice (republished after an agent
      // restart) is one gap, and ids stored before the agent dropped them (an ack it never saw) are no loss.
      const { count, before_id } = body.dropped
      for (const part of uncovered(covered, Math.max(1, before_id - count), before_id)) {
        gaps.push({ agent, kind, dropped: { count: part.end - part.start, before_id: part.end } })
        added.push(part)
      }
    }
    if (added.length > 0) {
      covered = mergeRanges(covered, added)
      coverage.set(key, covered)
      touched.add(key)
    }
  }
  return { rows, gaps, touched }
}

const firstId = (e: AcceptedEnvelope) => e.entries?.entries[0]?.id ?? 0
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
