import { describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { tempDir } from "../../test/harness/index.ts"
import { openStateDb, STATE_SCHEMA_VERSION } from "./database.ts"
import { getMeta, setMeta } from "./meta.ts"

describe("openStateDb", () => {
  test("creates the directory and state.db in WAL mode with the current schema", async () => {
    await using dir = tempDir()
    const stateDir = join(dir.path, "nested", "state")
    const db = openStateDb(stateDir)
    try {
      expect(existsSync(join(stateDir, "state.db"))).toBe(true)
      expect(db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode).toBe("wal")
      expect(db.query<{ synchronous: number }, []>("PRAGMA synchronous").get()?.synchronous).toBe(1) // NORMAL
      expect(db.query<{ timeout: number }, []>("PRAGMA busy_timeout").get()?.timeout).toBe(5000)
      expect(getMeta(db, "schema_version")).toBe(String(STATE_SCHEMA_VERSION))
      const tables = db
        .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all()
      expect(tables.map((t) => t.name).sort()).toEqual(["log_files", "meta"])
    } finally {
      db.close()
    }
  })

  test("reopening keeps data and the meta keys of other components", async () => {
    await using dir = tempDir()
    const first = openStateDb(dir.path)
    setMeta(first, "transport.sequence", "41")
    first.close()
    const second = openStateDb(dir.path)
    try {
      expect(getMeta(second, "transport.sequence")).toBe("41")
      expect(getMeta(second, "missing")).toBeUndefined()
    } finally {
      second.close()
    }
  })

  test("refuses a database written by a newer agent", async () => {
    await using dir = tempDir()
    const db = openStateDb(dir.path)
    setMeta(db, "schema_version", String(STATE_SCHEMA_VERSION + 1))
    db.close()
    expect(() => openStateDb(dir.path)).toThrow(`schema version ${STATE_SCHEMA_VERSION + 1} is newer`)
  })

  test("log_files only accepts the known statuses", async () => {
    await using dir = tempDir()
    const db = openStateDb(dir.path)
    try {
      const insert = () =>
        db
          .query(
            `INSERT INTO log_files (gen, source, path, dev, ino, fingerprint, fingerprint_bytes, position, seen_size,
               status, created_at, updated_at) VALUES ('g', 's', '/p', '1', '2', '', 0, 0, 0, 'lost', 0, 0)`,
          )
          .run()
      expect(insert).toThrow()
    } finally {
      db.close()
    }
  })
})
