import type { Database } from "bun:sqlite"
import { getMeta, setMeta } from "../../state/meta.ts"
import type { FileId } from "./files.ts"
import type { Fingerprint } from "./rotation.ts"

export type GenerationStatus = "active" | "draining" | "done"

/** One row of `log_files`: a file generation and its committed (acknowledged) position. */
export type GenerationRow = {
  gen: string
  path: string
  dev: string
  ino: string
  fingerprint: string
  fingerprint_bytes: number
  position: number
  seen_size: number
  status: GenerationStatus
}

/** `log_files` access for one logs source. */
export type Checkpoints = {
  /** true once this source has run at least once against this database */
  hasState(): boolean
  markStarted(): void
  /** generations not yet done, oldest first */
  live(): GenerationRow[]
  /** fingerprints of the generations this source had for that dev + ino under another path */
  fingerprintsOf(id: FileId, otherThan: string): Fingerprint[]
  insert(
    gen: string,
    path: string,
    id: FileId,
    fp: Fingerprint,
    position: number,
    size: number,
    status: GenerationStatus,
  ): void
  /** saves an acknowledged position; `done` also closes the generation */
  commit(gen: string, position: number, seenSize: number, done: boolean): void
  setStatus(gen: string, status: GenerationStatus): void
  /** the generation now lives in another file (the copy left by copytruncate) */
  setFile(gen: string, id: FileId, status: GenerationStatus): void
  setFingerprint(gen: string, fp: Fingerprint): void
  /** done generations last touched before `before` (ms) */
  oldDone(before: number): GenerationRow[]
  forget(gen: string): void
}

/** Opens the checkpoint store of source `source`. */
export function openCheckpoints(db: Database, source: string, now: () => number): Checkpoints {
  const startedKey = `logs.${source}.started_at`
  const cols = "gen, path, dev, ino, fingerprint, fingerprint_bytes, position, seen_size, status"
  const live = db.query<GenerationRow, [string]>(
    `SELECT ${cols} FROM log_files WHERE source = ? AND status != 'done' ORDER BY created_at, rowid`,
  )
  const any = db.query<{ one: number }, [string]>("SELECT 1 AS one FROM log_files WHERE source = ? LIMIT 1")
  const byId = db.query<{ hash: string; bytes: number }, [string, string, string, string]>(
    `SELECT fingerprint AS hash, fingerprint_bytes AS bytes FROM log_files
     WHERE source = ? AND dev = ? AND ino = ? AND path != ?`,
  )
  const insert = db.query(
    `INSERT INTO log_files (${cols}, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const commit = db.query(
    "UPDATE log_files SET position = ?, seen_size = ?, status = CASE WHEN ? THEN 'done' ELSE status END, updated_at = ? WHERE gen = ?",
  )
  const setStatus = db.query("UPDATE log_files SET status = ?, updated_at = ? WHERE gen = ?")
  const setFile = db.query("UPDATE log_files SET dev = ?, ino = ?, status = ?, updated_at = ? WHERE gen = ?")
  const setFingerprint = db.query(
    "UPDATE log_files SET fingerprint = ?, fingerprint_bytes = ?, updated_at = ? WHERE gen = ?",
  )
  const oldDone = db.query<GenerationRow, [string, number]>(
    `SELECT ${cols} FROM log_files WHERE source = ? AND status = 'done' AND updated_at < ?`,
  )
  const forget = db.query("DELETE FROM log_files WHERE gen = ?")

  return {
    hasState: () => getMeta(db, startedKey) !== undefined || any.get(source) !== null,
    markStarted: () => {
      if (getMeta(db, startedKey) === undefined) setMeta(db, startedKey, String(now()))
    },
    live: () => live.all(source),
    fingerprintsOf: (id, otherThan) => byId.all(source, id.dev, id.ino, otherThan),
    insert: (gen, path, id, fp, position, size, status) => {
      const t = now()
      insert.run(gen, path, id.dev, id.ino, fp.hash, fp.bytes, position, size, status, source, t, t)
    },
    commit: (gen, position, seenSize, done) => {
      commit.run(position, seenSize, done ? 1 : 0, now(), gen)
    },
    setStatus: (gen, status) => {
      setStatus.run(status, now(), gen)
    },
    setFile: (gen, id, status) => {
      setFile.run(id.dev, id.ino, status, now(), gen)
    },
    setFingerprint: (gen, fp) => {
      setFingerprint.run(fp.hash, fp.bytes, now(), gen)
    },
    oldDone: (before) => oldDone.all(source, before),
    forget: (gen) => {
      forget.run(gen)
    },
  }
}
