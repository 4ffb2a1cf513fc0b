import { Database } from "bun:sqlite"
import { mkdirSync } from "node:fs"
import { join } from "node:path"

/** Layout version of `state.db`; each step in `MIGRATIONS` raises it by one. */
export const STATE_SCHEMA_VERSION = 1

/** `MIGRATIONS[i]` takes the database from version i to i + 1. */
const MIGRATIONS: string[] = [
  `CREATE TABLE log_files (
    gen TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    dev TEXT NOT NULL,
    ino TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    fingerprint_bytes INTEGER NOT NULL,
    position INTEGER NOT NULL,
    seen_size INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'draining', 'done')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX log_files_source_status ON log_files (source, status);
  CREATE INDEX log_files_identity ON log_files (source, dev, ino);`,
]

/** Opens (creating it and its directory if needed) `<stateDir>/state.db` and migrates it to the current schema. */
export function openStateDb(stateDir: string): Database {
  mkdirSync(stateDir, { recursive: true })
  const db = new Database(join(stateDir, "state.db"), { create: true })
  try {
    db.exec("PRAGMA busy_timeout = 5000")
    db.exec("PRAGMA journal_mode = WAL")
    // WAL + NORMAL: a power cut may lose the last commits (positions go back a little, lines are re-sent),
    // never corrupt the file; that is the at-least-once trade the transport already makes
    db.exec("PRAGMA synchronous = NORMAL")
    migrate(db)
  } catch (error) {
    db.close()
    throw error
  }
  return db
}

function migrate(db: Database): void {
  db.transaction(() => {
    db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    const row = db
      .query<{ value: string }, [string]>("SELECT value FROM meta WHERE key = ?")
      .get("schema_version")
    const current = row ? Number(row.value) : 0
    if (!Number.isInteger(current) || current < 0) {
      throw new Error(`state database has an unreadable schema_version '${row?.value}'`)
    }
    if (current > STATE_SCHEMA_VERSION) {
      throw new Error(
        `state database schema version ${current} is newer than this agent supports (${STATE_SCHEMA_VERSION})`,
      )
    }
    for (let version = current; version < STATE_SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version] as string)
    }
    db.query("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").run(
      "schema_version",
      String(STATE_SCHEMA_VERSION),
    )
  }).immediate()
}
