import type { Logger } from "../../shared/logger.ts"
import type { DroppedReport } from "../../shared/protocol/entries-body.ts"
import type { Kind } from "../../shared/protocol/subjects.ts"
import type { OutboxSync } from "./database.ts"

/** Largest entry, as JSON, the outbox takes; far above any URL result or heartbeat, far below NATS max_payload. */
export const MAX_ENTRY_BYTES = 256 * 1024

export type OutboxOptions = {
  /** the SQLite file, `<state_dir>/outbox.db` */
  path: string
  /** bound on the entries' JSON bytes (`outbox.max_bytes`) */
  maxBytes: number
  /** bound on the number of entries (`outbox.max_entries`) */
  maxEntries: number
  now?: () => number
  logger?: Logger
  /** default `normal`: see openOutboxDb */
  sync?: OutboxSync
  /** how often drops by the bound are logged while they go on; default 30 s */
  reportEveryMs?: number
  /**
   * The id of a kind's first entry in an outbox that never held one: by default the time in microseconds, so an
   * agent whose state was wiped never hands out ids the collector already stored (it would skip them as seen).
   */
  firstId?: () => number
}

/** An entry as the outbox hands it out: the stored fields with its outbox id. */
export type OutboxEntry = Record<string, unknown> & { id: number }

/** The oldest entries of a kind and the drop report to ship with them. */
export type OutboxPeek = { entries: OutboxEntry[]; bytes: number; dropped?: DroppedReport }

export type OutboxStats = {
  entries: number
  bytes: number
  /** per kind: entries dropped by the bound and not yet reported to the collector */
  dropped: Partial<Record<Kind, number>>
  /** entries dropped by the bound since this outbox was opened (a counter, for metrics) */
  droppedSinceOpen: number
  /** created_at of the oldest entry, ms since the epoch */
  oldestAt?: number
}

/**
 * Durable queue of entries that exist nowhere else (URL check results, heartbeats): appended before they are
 * published, deleted only after JetStream acknowledged the envelope carrying them.
 */
export type Outbox = {
  /** Appends in one transaction, assigning ids (per kind: contiguous, never reused); applies the bound. */
  append(kind: Kind, entries: Record<string, unknown>[]): { firstId: number; lastId: number }
  /**
   * The oldest entries of a kind in id order, up to `maxEntries` and `maxBytes` of JSON as encodeEntriesBody
   * writes them (always at least one if any), and the drop report to ship with them, if there are drops.
   */
  peek(kind: Kind, maxEntries: number, maxBytes: number): OutboxPeek
  /**
   * After JetStream acknowledged the envelope of the last `peek`: deletes the entries of `kind` through
   * `throughId` and forgets the drops it reported (and any drops of entries it carried, made while it was in
   * flight). Call once per peek.
   */
  remove(kind: Kind, throughId: number, dropped?: DroppedReport): void
  /** Resolves when entries (or a drop report) of `kind` wait: at once, or at the next append; or on abort. */
  waitForEntries(kind: Kind, signal: AbortSignal): Promise<void>
  /** Entries of `kind` waiting and their JSON bytes (without ids). */
  pending(kind: Kind): { entries: number; bytes: number }
  stats(): OutboxStats
  close(): void
}
