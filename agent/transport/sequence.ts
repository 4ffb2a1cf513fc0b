import type { Database } from "bun:sqlite"

const KEY = "envelope_seq_reserved"
const BLOCK = 4096

/**
 * Hands out envelope sequence numbers that never repeat for this agent.
 * A block is reserved in the state db before use, and a fresh start begins at
 * max(reserved bound, now in microseconds), so even a wiped state db does not reuse a number.
 */
export class SequenceAllocator {
  private next: number
  private limit: number
  private readonly db: Database

  constructor(db: Database, nowMs: () => number = Date.now) {
    this.db = db
    db.run("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    const row = db.query<{ value: string }, [string]>("SELECT value FROM meta WHERE key = ?").get(KEY)
    this.next = Math.max(row ? Number(row.value) : 0, Math.floor(nowMs()) * 1000)
    this.limit = this.next
  }

  /** The next sequence number; persists a new reserved bound every BLOCK numbers. */
  take(): number {
    if (this.next >= this.limit) {
      this.limit = this.next + BLOCK
      this.db.run(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [KEY, String(this.limit)],
      )
    }
    return this.next++
  }
}
