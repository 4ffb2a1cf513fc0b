import type { Database } from "bun:sqlite"

/** Reads a value from the `meta` table (undefined when absent). */
export function getMeta(db: Database, key: string): string | undefined {
  return db.query<{ value: string }, [string]>("SELECT value FROM meta WHERE key = ?").get(key)?.value
}

/** Writes (or replaces) a value in the `meta` table. */
export function setMeta(db: Database, key: string, value: string): void {
  db.query("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").run(key, value)
}
