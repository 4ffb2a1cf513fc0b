import { Database, type Statement } from "bun:sqlite"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"

/** Layout version of `outbox.db` (SQLite `user_version`); each step in `MIGRATIONS` raises it by one. */
export const OUTBOX_SCHEMA_VERSION = 1

/** `MIGRATIONS[i]` takes the database from version i to i + 1. */
const MIGRATIONS: string[] = [
  // Ids are per kind, contiguous and never reused: `outbox_seq` holds the last one given, updated in the
  // transaction that inserts. Entries are keyed (kind, id), so a drain is one range scan and one range delete.
  `CREATE TABLE outbox_seq (kind TEXT PRIMARY KEY, last_id INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE outbox_entries (
    kind TEXT NOT NULL,
    id INTEGER NOT NULL,
    body TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
  ) WITHOUT ROWID;
  CREATE TABLE outbox_dropped (
    kind TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    before_id INTEGER NOT NULL
  ) WITHOUT ROWID;`,
]

/** `normal` survives the process being killed; `full` also a power cut or kernel crash, at an fsync per append. */
export type OutboxSync = "normal" | "full"

/** Opens (creating it and its directory if needed) an outbox file and migrates it to the current layout. */
export function openOutboxDb(path: string, sync: OutboxSync): Database {
  mkdirSync(dirname(path), { recursive: true })
  const db = new Database(path, { create: true, strict: true })
  try {
    db.exec("PRAGMA busy_timeout = 5000")
    // only takes effect on a new, empty file: lets `vacuumIfEmpty` give an outage's disk space back
    db.exec("PRAGMA auto_vacuum = INCREMENTAL")
    db.exec("PRAGMA journal_mode = WAL")
    // the WAL is reused, not shrunk, after each checkpoint; past this it is cut back
    db.exec("PRAGMA journal_size_limit = 4194304")
    // WAL + NORMAL: a commit is in the WAL file (the OS page cache) before append() returns, so a killed process
    // (kill -9, OOM, crash) loses nothing; a power cut or kernel panic may lose the last commits before a
    // checkpoint, never corrupt the file. FULL also fsyncs the WAL on every commit (see bench:outbox for the cost).
    db.exec(`PRAGMA synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`)
    migrate(db, path)
  } catch (error) {
    db.close()
    throw error
  }
  return db
}

function migrate(db: Database, path: string): void {
  db.transaction(() => {
    const current = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version
    if (current > OUTBOX_SCHEMA_VERSION) {
      throw new Error(
        `outbox ${path} has layout version ${current}, newer than this agent supports (${OUTBOX_SCHEMA_VERSION})`,
      )
    }
    for (let version = current; version < OUTBOX_SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version] as string)
    }
    db.exec(`PRAGMA user_version = ${OUTBOX_SCHEMA_VERSION}`)
  }).immediate()
}

/** The statements the outbox runs. */
export type OutboxStatements = {
  lastId: Statement<{ last_id: number }, [string]>
  setLastId: Statement<unknown, [string, number]>
  insert: Statement<unknown, [string, number, string, number, number]>
  head: Statement<{ id: number; created_at: number }, [string]>
  scan: Statement<{ id: number; bytes: number; created_at: number }, [string, number]>
  peek: Statement<{ id: number; body: string; bytes: number }, [string, number]>
  through: Statement<{ n: number; b: number }, [string, number]>
  deleteThrough: Statement<unknown, [string, number]>
  setDropped: Statement<unknown, [string, number, number]>
  clearDropped: Statement<unknown, [string]>
}

/** Prepares every statement once, when the outbox opens. */
export function prepareStatements(db: Database): OutboxStatements {
  return {
    lastId: db.prepare("SELECT last_id FROM outbox_seq WHERE kind = ?"),
    setLastId: db.prepare(
      "INSERT INTO outbox_seq (kind, last_id) VALUES (?, ?) ON CONFLICT (kind) DO UPDATE SET last_id = excluded.last_id",
    ),
    insert: db.prepare(
      "INSERT INTO outbox_entries (kind, id, body, bytes, created_at) VALUES (?, ?, ?, ?, ?)",
    ),
    head: db.prepare("SELECT id, created_at FROM outbox_entries WHERE kind = ? ORDER BY id LIMIT 1"),
    scan: db.prepare("SELECT id, bytes, created_at FROM outbox_entries WHERE kind = ? ORDER BY id LIMIT ?"),
    peek: db.prepare("SELECT id, body, bytes FROM outbox_entries WHERE kind = ? ORDER BY id LIMIT ?"),
    through: db.prepare(
      "SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM outbox_entries WHERE kind = ? AND id <= ?",
    ),
    deleteThrough: db.prepare("DELETE FROM outbox_entries WHERE kind = ? AND id <= ?"),
    setDropped: db.prepare(
      "INSERT INTO outbox_dropped (kind, count, before_id) VALUES (?, ?, ?) ON CONFLICT (kind) DO UPDATE SET count = excluded.count, before_id = excluded.before_id",
    ),
    clearDropped: db.prepare("DELETE FROM outbox_dropped WHERE kind = ?"),
  }
}

/** Free pages past which an empty outbox gives its disk space back (1 MiB at 4 KiB pages). */
const VACUUM_FREE_PAGES = 256

/**
 * After an outage the file keeps its size once drained; when the outbox is empty again, its free pages are
 * released (nothing to move then, so this is cheap) and the WAL checkpointed and cut back.
 */
export function vacuumIfEmpty(db: Database): void {
  const free = (db.query("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count
  if (free < VACUUM_FREE_PAGES) return
  db.exec("PRAGMA incremental_vacuum")
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
}
