import { createHash } from "node:crypto"
import { closeSync, readdirSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import { type FileId, type OpenedFile, openFile, readAt, type SkipReport, sameFile } from "./files.ts"

/** How many leading bytes (at most) identify a file's content, together with its dev + ino. */
export const FINGERPRINT_MAX_BYTES = 1024

/** sha256 (hex) of a file's first `bytes` bytes. */
export type Fingerprint = { hash: string; bytes: number }

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
 * returns the most recently modified such file still open, closing every other. FIFOs, sockets and devices are
 * never opened (`skipped` hears of them); subdirectories are passed over silently.
 */
export function findSibling(
  path: string,
  accept: (file: OpenedFile) => boolean,
  skipped?: SkipReport,
): OpenedFile | undefined {
  const dir = dirname(path)
  const self = basename(path)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return undefined
  }
  const report: SkipReport = (p, kind) => {
    if (kind !== "directory") skipped?.(p, kind)
  }
  let best: OpenedFile | undefined
  for (const name of names) {
    if (name === self) continue
    let file: OpenedFile | undefined
    try {
      file = openFile(join(dir, name), report)
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
  skipped?: SkipReport,
): OpenedFile | undefined {
  if (fp.bytes === 0) return undefined // nothing to recognise it by (and nothing was read from it)
  return findSibling(
    path,
    (f) => !sameFile(f.stat, id) && f.stat.size >= position && checkFingerprint(f.fd, fp, f.stat.size).ok,
    skipped,
  )
}

/** A sibling that is the same file under another name (renamed away): same dev + ino and first bytes. */
export function findRenamed(
  path: string,
  id: FileId,
  fp: Fingerprint,
  skipped?: SkipReport,
): OpenedFile | undefined {
  return findSibling(path, (f) => sameFile(f.stat, id) && checkFingerprint(f.fd, fp, f.stat.size).ok, skipped)
}
