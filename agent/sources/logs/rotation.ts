import { createHash } from "node:crypto"
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from "node:fs"
import { basename, dirname, join } from "node:path"

/** How many leading bytes (at most) identify a file's content, together with its dev + ino. */
export const FINGERPRINT_MAX_BYTES = 1024

/** dev + ino as decimal strings: inode numbers may exceed 2^53. */
export type FileId = { dev: string; ino: string }
/** sha256 (hex) of a file's first `bytes` bytes. */
export type Fingerprint = { hash: string; bytes: number }
export type FileStat = FileId & { size: number; mtimeMs: number }
/** A file opened for reading, with the stat of the open descriptor. */
export type OpenedFile = { path: string; fd: number; stat: FileStat }

type BigStats = { dev: bigint; ino: bigint; size: bigint; mtimeMs: bigint; isFile(): boolean }
const toStat = (s: BigStats): FileStat => ({
  dev: String(s.dev),
  ino: String(s.ino),
  size: Number(s.size),
  mtimeMs: Number(s.mtimeMs),
})

export const sameFile = (a: FileId, b: FileId): boolean => a.dev === b.dev && a.ino === b.ino
export const fileKey = (id: FileId): string => `${id.dev}:${id.ino}`

/** Stat of an open descriptor. */
export function fstatFile(fd: number): FileStat {
  return toStat(fstatSync(fd, { bigint: true }))
}

/** Stat of a path; undefined when it is missing or not a regular file. */
export function statFile(path: string): FileStat | undefined {
  const s = statSync(path, { bigint: true, throwIfNoEntry: false })
  return s?.isFile() ? toStat(s) : undefined
}

/** Opens a regular file for reading; undefined when it is missing or not a regular file. */
export function openFile(path: string): OpenedFile | undefined {
  let fd: number
  try {
    fd = openSync(path, "r")
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error
  }
  const s = fstatSync(fd, { bigint: true })
  if (!s.isFile()) {
    closeSync(fd)
    return undefined
  }
  return { path, fd, stat: toStat(s) }
}

/** Reads up to `length` bytes at `position`, fewer only at the end of the file. */
export function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length)
  let got = 0
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got)
    if (n === 0) break
    got += n
  }
  return got === length ? buf : buf.subarray(0, got)
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** Fingerprint of the first min(size, FINGERPRINT_MAX_BYTES) bytes. */
export function readFingerprint(fd: number, size: number): Fingerprint {
  const head = readAt(fd, 0, Math.min(size, FINGERPRINT_MAX_BYTES))
  return { hash: sha256(head), bytes: head.length }
}

/**
 * Checks that the file still starts with the fingerprinted bytes. When it does and has grown past a short
 * fingerprint, returns the longer one in `extended` (a longer fingerprint tells more files apart).
 */
export function checkFingerprint(
  fd: number,
  fp: Fingerprint,
  size: number,
): { ok: boolean; extended?: Fingerprint } {
  if (size < fp.bytes) return { ok: false }
  const head = readAt(fd, 0, Math.max(fp.bytes, Math.min(size, FINGERPRINT_MAX_BYTES)))
  if (head.length < fp.bytes || sha256(head.subarray(0, fp.bytes)) !== fp.hash) return { ok: false }
  if (head.length === fp.bytes) return { ok: true }
  return { ok: true, extended: { hash: sha256(head), bytes: head.length } }
}

/**
 * Looks among the other regular files in `path`'s directory for one that `accept`s (it gets an open file);
 * returns the most recently modified such file still open, closing every other.
 */
export function findSibling(path: string, accept: (file: OpenedFile) => boolean): OpenedFile | undefined {
  const dir = dirname(path)
  const self = basename(path)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return undefined
  }
  let best: OpenedFile | undefined
  for (const name of names) {
    if (name === self) continue
    let file: OpenedFile | undefined
    try {
      file = openFile(join(dir, name))
    } catch {
      continue // unreadable sibling: not ours
    }
    if (!file) continue
    if (accept(file) && (!best || file.stat.mtimeMs > best.stat.mtimeMs)) {
      if (best) closeSync(best.fd)
      best = file
    } else {
      closeSync(file.fd)
    }
  }
  return best
}

/** A sibling that is the copy of a truncated generation: another inode, long enough, same first bytes. */
export function findCopy(
  path: string,
  id: FileId,
  fp: Fingerprint,
  position: number,
): OpenedFile | undefined {
  if (fp.bytes === 0) return undefined // nothing to recognise it by (and nothing was read from it)
  return findSibling(
    path,
    (f) => !sameFile(f.stat, id) && f.stat.size >= position && checkFingerprint(f.fd, fp, f.stat.size).ok,
  )
}

/** A sibling that is the same file under another name (renamed away): same dev + ino and first bytes. */
export function findRenamed(path: string, id: FileId, fp: Fingerprint): OpenedFile | undefined {
  return findSibling(path, (f) => sameFile(f.stat, id) && checkFingerprint(f.fd, fp, f.stat.size).ok)
}
