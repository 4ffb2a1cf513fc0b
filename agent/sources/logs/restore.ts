import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import type { Checkpoints, GenerationRow } from "./checkpoint.ts"
import {
  type FileId,
  fileKey,
  type OpenedFile,
  openFile,
  type SkipReport,
  sameFile,
  statFile,
} from "./files.ts"
import { closeQuietly, type Generation, newGeneration } from "./generation.ts"
import { checkFingerprint, type Fingerprint, findCopy, findRenamed } from "./rotation.ts"

/**
 * Reopens the generations an earlier run left unfinished, each at its committed position: at its path when
 * the file is still there; else a sibling that is the same file renamed (rotated while the agent was down)
 * or the copy of a truncated one. A generation whose file is gone is logged and marked done.
 */
export function restoreGenerations(
  cp: Checkpoints,
  at: number,
  say: (msg: string) => void,
  skipped?: SkipReport,
): Generation[] {
  const out: Generation[] = []
  for (const row of cp.live()) {
    const id: FileId = { dev: row.dev, ino: row.ino }
    const fp: Fingerprint = { hash: row.fingerprint, bytes: row.fingerprint_bytes }
    const found = locate(row, id, fp, skipped)
    if (!found) {
      const unsent = Math.max(0, row.seen_size - row.position)
      say(
        `${row.path} (generation ${row.gen}) is gone: ${unsent} bytes seen after the committed position ` +
          `${row.position}, and whatever was written to it later, may be lost`,
      )
      cp.commit(row.gen, row.position, row.seen_size, true)
      continue
    }
    const { file, status } = found
    if (status !== row.status || !sameFile(file.stat, id)) cp.setFile(row.gen, file.stat, status)
    out.push(newGeneration(row.gen, row.path, file, fp, row.position, status, at, true))
  }
  return out
}

function locate(
  row: GenerationRow,
  id: FileId,
  fp: Fingerprint,
  skipped: SkipReport | undefined,
): { file: OpenedFile; status: Generation["status"] } | undefined {
  const file = openFile(row.path, skipped)
  const holds = (f: OpenedFile) => f.stat.size >= row.position && checkFingerprint(f.fd, fp, f.stat.size).ok
  if (file && sameFile(file.stat, id) && holds(file)) return { file, status: "active" }
  const sameInode = file !== undefined && sameFile(file.stat, id)
  if (file) closeQuietly(file.fd)
  // same inode but shorter or rewritten: truncated (copytruncate), so look for the copy; another inode or none:
  // renamed (or deleted), so look for the inode, then for a copy (truncated, then rotated, all while down)
  const other =
    (sameInode ? undefined : findRenamed(row.path, id, fp, skipped)) ??
    findCopy(row.path, id, fp, row.position, skipped)
  if (other && other.stat.size >= row.position) return { file: other, status: "draining" }
  if (other) closeQuietly(other.fd)
  return undefined
}

/**
 * Forgets the done generations last touched before `before` whose file is gone from its directory. A rotated
 * file still there keeps its row: a glob that matches it must not read it again.
 */
export function pruneDone(cp: Checkpoints, before: number): void {
  const present = new Map<string, Set<string> | undefined>() // directory -> dev:ino of its files, if known
  for (const row of cp.oldDone(before)) {
    const dir = dirname(row.path)
    if (!present.has(dir)) present.set(dir, filesIn(dir))
    const ids = present.get(dir)
    if (ids && !ids.has(fileKey(row))) cp.forget(row.gen)
  }
}

/** dev:ino of the regular files in `dir` (none if it is gone); undefined when some cannot be looked at. */
function filesIn(dir: string): Set<string> | undefined {
  const ids = new Set<string>()
  let names: string[] = []
  try {
    names = readdirSync(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") return undefined
  }
  for (const name of names) {
    try {
      const st = statFile(join(dir, name))
      if (st) ids.add(fileKey(st))
    } catch {
      return undefined
    }
  }
  return ids
}
