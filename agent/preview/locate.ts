import type { Database } from "bun:sqlite"
import { closeSync } from "node:fs"
import { type FileId, type OpenedFile, openFile, sameFile } from "../sources/logs/files.ts"
import { checkFingerprint, type Fingerprint, findCopy, findRenamed } from "../sources/logs/rotation.ts"

/** Where the bytes of a generation are now; `file` is open and the caller closes it (`closeLocated`). */
export type Located =
  | {
      found: true
      /** the logs source that read the generation */
      source: string
      /** the path the generation was read at (the row in `log_files`) */
      path: string
      /** the file being read: `path` itself, or the rotated file or copy that holds the generation now */
      file: OpenedFile
      rotated: boolean
    }
  | { found: false; gone: string }

/** Finds the file holding the line at `offset` of generation `gen`, or says why its data is gone. */
export type Locate = (gen: string, offset: number) => Located

/** Why a generation's data is gone, worded for the page. */
export const GONE = {
  unknown:
    "this agent has no record of that file generation (forgotten after it was read, or never read here)",
  rotated: "the data is gone (rotated and compressed or deleted)",
  rewritten: "the data is gone (the file was truncated or rewritten in place, and no copy of it was found)",
} as const

type Row = {
  source: string
  path: string
  dev: string
  ino: string
  fingerprint: string
  fingerprint_bytes: number
}

/**
 * A locator over the agent's state database (only read here). The file names come from `log_files` alone, so
 * only files the logs sources read, and their siblings in the same directory, are ever opened; a generation
 * is recognised there the way the logs source recognises it: dev + ino and first bytes (rename), or first
 * bytes and a size reaching the offset (the copy left by copytruncate).
 */
export function createLocator(db: Database): Locate {
  const byGen = db.query<Row, [string]>(
    "SELECT source, path, dev, ino, fingerprint, fingerprint_bytes FROM log_files WHERE gen = ?",
  )
  return (gen, offset) => {
    const row = byGen.get(gen)
    if (!row) return { found: false, gone: GONE.unknown }
    const id: FileId = { dev: row.dev, ino: row.ino }
    const fp: Fingerprint = { hash: row.fingerprint, bytes: row.fingerprint_bytes }
    const found = (file: OpenedFile, rotated: boolean): Located => ({
      found: true,
      source: row.source,
      path: row.path,
      file,
      rotated,
    })
    const covers = (f: OpenedFile) => f.stat.size > offset

    // the generation is still the file at its path, unless that file was truncated or rewritten in place
    let atPath = openFile(row.path)
    const sameInode = atPath !== undefined && sameFile(atPath.stat, id)
    if (atPath && !(sameInode && checkFingerprint(atPath.fd, fp, atPath.stat.size).ok)) {
      closeSync(atPath.fd)
      atPath = undefined
    }
    if (atPath && covers(atPath)) return found(atPath, false)
    const renamed = findRenamed(row.path, id, fp)
    if (renamed && covers(renamed)) {
      if (atPath) closeSync(atPath.fd)
      return found(renamed, true)
    }
    // offset + 1: the line that starts at the offset must be in the copy
    const copy = findCopy(row.path, id, fp, offset + 1)
    if (copy) {
      if (atPath) closeSync(atPath.fd)
      if (renamed) closeSync(renamed.fd)
      return found(copy, true)
    }
    // the same file, now too short: the window says it was truncated below the offset
    if (atPath) {
      if (renamed) closeSync(renamed.fd)
      return found(atPath, false)
    }
    if (renamed) return found(renamed, true)
    return { found: false, gone: sameInode ? GONE.rewritten : GONE.rotated }
  }
}

/** Closes the file a `Located` holds open. */
export function closeLocated(located: Located): void {
  if (!located.found) return
  try {
    closeSync(located.file.fd)
  } catch {
    // already closed
  }
}
