import type { Checkpoints, GenerationRow } from "./checkpoint.ts"
import { closeQuietly, type Generation, newGeneration } from "./generation.ts"
import {
  checkFingerprint,
  type FileId,
  type Fingerprint,
  findCopy,
  findRenamed,
  type OpenedFile,
  openFile,
  sameFile,
} from "./rotation.ts"

/**
 * Reopens the generations an earlier run left unfinished, each at its committed position: at its path when
 * the file is still there; else a sibling that is the same file renamed (rotated while the agent was down)
 * or the copy of a truncated one. A generation whose file is gone is logged and marked done.
 */
export function restoreGenerations(cp: Checkpoints, at: number, say: (msg: string) => void): Generation[] {
  const out: Generation[] = []
  for (const row of cp.live()) {
    const id: FileId = { dev: row.dev, ino: row.ino }
    const fp: Fingerprint = { hash: row.fingerprint, bytes: row.fingerprint_bytes }
    const found = locate(row, id, fp)
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
): { file: OpenedFile; status: Generation["status"] } | undefined {
  const file = openFile(row.path)
  const holds = (f: OpenedFile) => f.stat.size >= row.position && checkFingerprint(f.fd, fp, f.stat.size).ok
  if (file && sameFile(file.stat, id) && holds(file)) return { file, status: "active" }
  const sameInode = file !== undefined && sameFile(file.stat, id)
  if (file) closeQuietly(file.fd)
  // same inode but shorter or rewritten: truncated (copytruncate), so look for the copy; another inode or none:
  // renamed (or deleted), so look for the inode, then for a copy (truncated, then rotated, all while down)
  const other =
    (sameInode ? undefined : findRenamed(row.path, id, fp)) ?? findCopy(row.path, id, fp, row.position)
  if (other && other.stat.size >= row.position) return { file: other, status: "draining" }
  if (other) closeQuietly(other.fd)
  return undefined
}
