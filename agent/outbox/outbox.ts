import type { Database } from "bun:sqlite"
import { createRepeatLimiter, type Logger, silentLogger } from "../../shared/logger.ts"
import type { DroppedReport } from "../../shared/protocol/entries-body.ts"
import type { Kind } from "../../shared/protocol/subjects.ts"
import { type OutboxStatements, openOutboxDb, prepareStatements, vacuumIfEmpty } from "./database.ts"
import {
  MAX_ENTRY_BYTES,
  type Outbox,
  type OutboxEntry,
  type OutboxOptions,
  type OutboxPeek,
  type OutboxStats,
} from "./types.ts"

/** Opens `options.path`, creating it if needed; the caller closes it. One process per file. */
export function openOutbox(options: OutboxOptions): Outbox {
  return new SqliteOutbox(options)
}

type KindState = {
  entries: number
  bytes: number
  /** unreported drops: `count` entries, every id below `before_id` not otherwise delivered */
  dropped?: DroppedReport
  /** first id (or before_id) the last peek handed out: drops at or above it happened while it was in flight */
  peekedFrom?: number
  waiters: Set<() => void>
}

class SqliteOutbox implements Outbox {
  private readonly db: Database
  private readonly q: OutboxStatements
  private readonly kinds = new Map<Kind, KindState>()
  private readonly now: () => number
  private readonly firstId: () => number
  private readonly logger: Logger
  private readonly repeat: ReturnType<typeof createRepeatLimiter>
  private droppedSinceOpen = 0
  private closed = false

  constructor(private readonly options: OutboxOptions) {
    this.now = options.now ?? Date.now
    this.firstId = options.firstId ?? (() => Math.floor(Date.now()) * 1000)
    this.logger = options.logger ?? silentLogger
    this.repeat = createRepeatLimiter(options.reportEveryMs ?? 30_000, this.now)
    this.db = openOutboxDb(options.path, options.sync ?? "normal")
    const db = this.db
    this.q = prepareStatements(db)
    const counts = db
      .query<{ kind: Kind; n: number; b: number }, []>(
        "SELECT kind, count(*) AS n, sum(bytes) AS b FROM outbox_entries GROUP BY kind",
      )
      .all()
    for (const { kind, n, b } of counts) Object.assign(this.state(kind), { entries: n, bytes: b })
    const drops = db
      .query<{ kind: Kind; count: number; before_id: number }, []>(
        "SELECT kind, count, before_id FROM outbox_dropped",
      )
      .all()
    for (const { kind, count, before_id } of drops) this.state(kind).dropped = { count, before_id }
  }

  append(kind: Kind, entries: Record<string, unknown>[]): { firstId: number; lastId: number } {
    const bodies = entries.map(serialize)
    const sizes = bodies.map((body) => Buffer.byteLength(body))
    sizes.forEach((size, i) => {
      if (size > MAX_ENTRY_BYTES)
        throw new RangeError(
          `${kind} entry ${i} of ${entries.length} is ${size} bytes of JSON, more than the outbox's ${MAX_ENTRY_BYTES}`,
        )
    })
    const saved = this.snapshot()
    let firstId = 0
    let lastId = 0
    let drops: Map<Kind, Drop> = new Map()
    try {
      this.db
        .transaction(() => {
          const last = this.q.lastId.get(kind)?.last_id ?? this.firstId() - 1
          const at = this.now()
          const state = this.state(kind)
          for (let i = 0; i < bodies.length; i++) {
            this.q.insert.run(kind, last + 1 + i, bodies[i] as string, sizes[i] as number, at)
            state.bytes += sizes[i] as number
          }
          state.entries += bodies.length
          firstId = last + 1
          lastId = last + bodies.length
          if (bodies.length > 0) this.q.setLastId.run(kind, lastId)
          drops = this.enforceBound()
        })
        .immediate()
    } catch (error) {
      this.restore(saved)
      throw error
    }
    for (const [dropKind, drop] of drops) this.reportDrop(dropKind, drop)
    if (bodies.length > 0) this.wake(kind)
    for (const dropKind of drops.keys()) if (dropKind !== kind) this.wake(dropKind)
    return { firstId, lastId }
  }

  peek(kind: Kind, maxEntries: number, maxBytes: number): OutboxPeek {
    const state = this.state(kind)
    const entries: OutboxEntry[] = []
    let bytes = 0
    if (state.entries > 0) {
      const limit = Math.max(1, Math.min(Math.floor(maxEntries), state.entries))
      for (const row of this.q.peek.iterate(kind, limit)) {
        // as JSON.stringify writes it: `{"id":N,` + the stored fields, and a comma between entries
        const size =
          row.bytes + String(row.id).length + (row.bytes > 2 ? 6 : 5) + (entries.length > 0 ? 1 : 0)
        if (entries.length > 0 && bytes + size > maxBytes) break
        entries.push({ id: row.id, ...(JSON.parse(row.body) as Record<string, unknown>) })
        bytes += size
      }
    }
    const dropped = state.dropped ? { ...state.dropped } : undefined
    state.peekedFrom = entries[0]?.id ?? dropped?.before_id
    return dropped ? { entries, bytes, dropped } : { entries, bytes }
  }

  remove(kind: Kind, throughId: number, dropped?: DroppedReport): void {
    const state = this.state(kind)
    const saved = this.snapshot()
    try {
      this.db
        .transaction(() => {
          const gone = this.q.through.get(kind, throughId) ?? { n: 0, b: 0 }
          if (gone.n > 0) this.q.deleteThrough.run(kind, throughId)
          state.entries -= gone.n
          state.bytes -= gone.b
          const current = state.dropped
          if (!current) return
          // Entries the envelope carried that the bound dropped while it was in flight were delivered after all.
          const inFlight =
            state.peekedFrom === undefined
              ? 0
              : Math.max(0, Math.min(current.before_id, throughId + 1) - state.peekedFrom)
          const left = current.count - (dropped?.count ?? 0) - inFlight
          if (left > 0) {
            state.dropped = { count: left, before_id: current.before_id }
            this.q.setDropped.run(kind, left, current.before_id)
          } else {
            state.dropped = undefined
            this.q.clearDropped.run(kind)
          }
        })
        .immediate()
    } catch (error) {
      this.restore(saved)
      throw error
    }
    state.peekedFrom = undefined
    if (this.isEmpty()) vacuumIfEmpty(this.db)
  }

  waitForEntries(kind: Kind, signal: AbortSignal): Promise<void> {
    const state = this.state(kind)
    if (this.closed || signal.aborted || state.entries > 0 || state.dropped) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        state.waiters.delete(done)
        signal.removeEventListener("abort", done)
        resolve()
      }
      state.waiters.add(done)
      signal.addEventListener("abort", done, { once: true })
    })
  }

  pending(kind: Kind): { entries: number; bytes: number } {
    const { entries, bytes } = this.state(kind)
    return { entries, bytes }
  }

  stats(): OutboxStats {
    const stats: OutboxStats = { entries: 0, bytes: 0, dropped: {}, droppedSinceOpen: this.droppedSinceOpen }
    for (const [kind, state] of this.kinds) {
      stats.entries += state.entries
      stats.bytes += state.bytes
      if (state.dropped) stats.dropped[kind] = state.dropped.count
      const head = state.entries > 0 ? this.q.head.get(kind) : null
      if (head && (stats.oldestAt === undefined || head.created_at < stats.oldestAt))
        stats.oldestAt = head.created_at
    }
    return stats
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    for (const state of this.kinds.values()) for (const wake of [...state.waiters]) wake()
    this.db.close()
  }

  /**
   * Deletes the oldest entries until both bounds hold again: across kinds, always from the kind whose oldest
   * entry is oldest, so what survives an outage is the most recent stretch of time of every kind. Within a kind
   * the drops are a prefix of its ids, so its unreported drops are always the ids just below `before_id`.
   */
  private enforceBound(): Map<Kind, Drop> {
    const drops = new Map<Kind, Drop>()
    let total = { entries: 0, bytes: 0 }
    for (const s of this.kinds.values())
      total = { entries: total.entries + s.entries, bytes: total.bytes + s.bytes }
    let overEntries = total.entries - this.options.maxEntries
    let overBytes = total.bytes - this.options.maxBytes
    while (overEntries > 0 || overBytes > 0) {
      const heads: { kind: Kind; at: number }[] = []
      for (const [kind, s] of this.kinds) {
        const head = s.entries > 0 ? this.q.head.get(kind) : null
        if (head) heads.push({ kind, at: head.created_at })
      }
      heads.sort((a, b) => a.at - b.at)
      const victim = heads[0]
      if (!victim) break
      const nextAt = heads[1]?.at ?? Number.POSITIVE_INFINITY
      const state = this.state(victim.kind)
      const average = state.bytes / state.entries
      const want = Math.max(overEntries, Math.ceil(overBytes / Math.max(1, average)), 1)
      let n = 0
      let b = 0
      let throughId = 0
      for (const row of this.q.scan.iterate(victim.kind, Math.min(want + 1, 10_000))) {
        if (n > 0 && (row.created_at > nextAt || (overEntries <= 0 && overBytes <= 0))) break
        n++
        b += row.bytes
        overEntries--
        overBytes -= row.bytes
        throughId = row.id
      }
      this.q.deleteThrough.run(victim.kind, throughId)
      state.entries -= n
      state.bytes -= b
      state.dropped = { count: (state.dropped?.count ?? 0) + n, before_id: throughId + 1 }
      this.q.setDropped.run(victim.kind, state.dropped.count, throughId + 1)
      const drop = drops.get(victim.kind)
      drops.set(victim.kind, {
        count: (drop?.count ?? 0) + n,
        firstId: drop?.firstId ?? throughId - n + 1,
        lastId: throughId,
      })
    }
    return drops
  }

  private reportDrop(kind: Kind, drop: Drop): void {
    this.droppedSinceOpen += drop.count
    const unreported = this.state(kind).dropped?.count ?? 0
    this.repeat(
      `drop:${kind}`,
      (message) => this.logger.warn(message, { kind, dropped: drop.count, unreported }),
      `outbox full (max_entries ${this.options.maxEntries}, max_bytes ${this.options.maxBytes}): dropped the ${drop.count} oldest ${kind} entries (ids ${drop.firstId}-${drop.lastId}); the collector is told with the next envelope`,
    )
  }

  private isEmpty(): boolean {
    for (const state of this.kinds.values()) if (state.entries > 0) return false
    return true
  }

  private state(kind: Kind): KindState {
    let state = this.kinds.get(kind)
    if (!state) {
      state = { entries: 0, bytes: 0, waiters: new Set() }
      this.kinds.set(kind, state)
    }
    return state
  }

  private wake(kind: Kind): void {
    for (const wake of [...this.state(kind).waiters]) wake()
  }

  /** The in-memory counts, to put back when a transaction fails (SQLite rolled back, so must they). */
  private snapshot(): Map<Kind, Pick<KindState, "entries" | "bytes" | "dropped">> {
    return new Map(
      [...this.kinds].map(([k, s]) => [k, { entries: s.entries, bytes: s.bytes, dropped: s.dropped }]),
    )
  }

  private restore(saved: Map<Kind, Pick<KindState, "entries" | "bytes" | "dropped">>): void {
    for (const [kind, state] of this.kinds) {
      Object.assign(state, saved.get(kind) ?? { entries: 0, bytes: 0, dropped: undefined })
    }
  }
}

type Drop = { count: number; firstId: number; lastId: number }

/** The entry as stored: its JSON without `id` (the outbox assigns that). */
function serialize(entry: Record<string, unknown>): string {
  let body: string
  if (Object.hasOwn(entry, "id")) {
    const { id: _id, ...rest } = entry
    body = JSON.stringify(rest)
  } else body = JSON.stringify(entry)
  if (body?.[0] !== "{") throw new TypeError("an outbox entry must serialize to a JSON object")
  return body
}
