import { closeSync } from "node:fs"
import type { LogFileRef } from "../../../shared/protocol/logs-body.ts"
import type { Checkpoints } from "./checkpoint.ts"
import { type FileId, type OpenedFile, readAt } from "./files.ts"
import type { Fingerprint } from "./rotation.ts"
import type { TailState } from "./tailer.ts"

/** One generation of one file being read: from the row in `log_files`, plus what was read, emitted and acked. */
export type Generation = {
  ref: LogFileRef
  file: FileId
  fp: Fingerprint
  tail: TailState
  /** active: the file at `ref.path`; draining: renamed away, deleted or a copy, read until idle */
  status: "active" | "draining"
  /** size at the last look */
  size: number
  /** when it last grew or stopped being the file at its path (rotate_wait_ms counts from here) */
  changedAt: number
  /** end of the last emitted chunk */
  emitted: number
  /** end of the last acknowledged chunk: the committed position */
  acked: number
  /** read to its end and closed; becomes done in the database once everything emitted is acked */
  finished: boolean
  /** where this run started reading it (for the log line when it is done) */
  readFrom: number
}

/**
 * A generation for an open file, reading from `position`. `resumed`: the position is a committed one, which
 * lies inside a line only after a truncated over-long line, so the rest of that line is skipped.
 */
export function newGeneration(
  gen: string,
  path: string,
  file: OpenedFile,
  fp: Fingerprint,
  position: number,
  status: Generation["status"],
  at: number,
  resumed: boolean,
): Generation {
  const skipping = resumed && position > 0 && readAt(file.fd, position - 1, 1)[0] !== 10
  return {
    ref: { path, gen },
    file: { dev: file.stat.dev, ino: file.stat.ino },
    fp,
    tail: { fd: file.fd, position, skipping },
    status,
    size: file.stat.size,
    changedAt: at,
    emitted: position,
    acked: position,
    finished: false,
    readFrom: position,
  }
}

/** Records an acknowledged chunk end; the transport acks in emit order, so positions only move forward. */
export function ackGeneration(g: Generation, endOffset: number, cp: Checkpoints): void {
  if (endOffset > g.acked) g.acked = endOffset
  cp.commit(g.ref.gen, g.acked, g.size, g.finished && g.acked >= g.emitted)
}

/** Closes a generation that was read to its end; it is done at once if nothing it emitted awaits an ack. */
export function finishGeneration(g: Generation, cp: Checkpoints): void {
  closeQuietly(g.tail.fd)
  g.finished = true
  if (g.acked >= g.emitted) cp.commit(g.ref.gen, g.acked, g.size, true)
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {
    // already closed
  }
}
