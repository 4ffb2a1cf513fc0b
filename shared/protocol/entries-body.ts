import { EnvelopeError } from "../errors.ts"

/**
 * Body of an envelope of an outbox kind (`urls`, later `heartbeats`, `events`, ...), format version 1: UTF-8
 * JSON `{ "v": 1, "entries": [...], "dropped"?: { "count": n, "before_id": id } }`. Each entry carries `id`, the
 * agent's outbox id: contiguous and increasing per (agent, kind), never reused, so (agent, kind, id) names an
 * entry and the collector deduplicates by id ranges. `dropped` reports entries the agent's bounded outbox discarded
 * (oldest first) before `before_id`: the collector records the gap instead of pretending nothing was lost.
 * `Outpost-Count` is the number of entries.
 */
export const ENTRIES_BODY_VERSION = 1

/** Most entries in one body; more is `bad_body`. */
export const MAX_ENTRIES_PER_BODY = 100_000

export type EntryBase = { id: number }
export type DroppedReport = { count: number; before_id: number }
export type EntriesBody<E extends EntryBase> = { v: number; entries: E[]; dropped?: DroppedReport }

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

export function encodeEntriesBody<E extends EntryBase>(entries: E[], dropped?: DroppedReport): Uint8Array {
  const body: EntriesBody<E> = { v: ENTRIES_BODY_VERSION, entries, ...(dropped ? { dropped } : {}) }
  return encoder.encode(JSON.stringify(body))
}

const isId = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v > 0

/**
 * Parses and checks a body: version, entry count bound, ids safe positive integers strictly increasing, the
 * `dropped` report well-formed; then each entry through `check` (returns a problem, or undefined). Throws
 * EnvelopeError `bad_body` naming the first problem.
 */
export function decodeEntriesBody<E extends EntryBase>(
  body: Uint8Array,
  check: (entry: Record<string, unknown>) => string | undefined,
): EntriesBody<E> {
  const bad = (what: string) => new EntryBodyError(what)
  let parsed: unknown
  try {
    parsed = JSON.parse(decoder.decode(body))
  } catch (cause) {
    throw new EnvelopeError("bad_body", "entries body is not valid UTF-8 JSON", { cause })
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw bad("not an object")
  const b = parsed as Record<string, unknown>
  if (b.v !== ENTRIES_BODY_VERSION) throw bad(`version ${String(b.v)} is not supported`)
  if (!Array.isArray(b.entries)) throw bad("entries must be an array")
  if (b.entries.length > MAX_ENTRIES_PER_BODY) {
    throw bad(`${b.entries.length} entries, more than the ${MAX_ENTRIES_PER_BODY} allowed`)
  }
  let last = 0
  b.entries.forEach((entry, i) => {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry))
      throw bad(`entry ${i} is not an object`)
    const id = (entry as Record<string, unknown>).id
    if (!isId(id)) throw bad(`entry ${i}: id must be a positive integer`)
    if (id <= last) throw bad(`entry ${i}: ids must increase (${id} after ${last})`)
    last = id
    const problem = check(entry as Record<string, unknown>)
    if (problem) throw bad(`entry ${i} (id ${id}): ${problem}`)
  })
  if (b.dropped !== undefined) {
    const d = b.dropped as Record<string, unknown> | null
    if (d === null || typeof d !== "object" || !isId(d.count) || !isId(d.before_id)) {
      throw bad("dropped must be { count, before_id } with positive integers")
    }
  }
  return b as unknown as EntriesBody<E>
}

class EntryBodyError extends EnvelopeError {
  constructor(what: string) {
    super("bad_body", `entries body: ${what}`)
  }
}
