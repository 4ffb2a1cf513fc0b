import { closeSync, constants, fstatSync, openSync, readSync, statSync } from "node:fs"

/** dev + ino as decimal strings: inode numbers may exceed 2^53. */
export type FileId = { dev: string; ino: string }
export type FileStat = FileId & { size: number; mtimeMs: number }
/** A regular file opened for reading, with the stat of the open descriptor. */
export type OpenedFile = { path: string; fd: number; stat: FileStat }
/** What a path holds when it is not a regular file. */
export type FileKind = "directory" | "FIFO" | "socket" | "character device" | "block device" | "special file"
/** Told about a path that was not opened because it is not a regular file. */
export type SkipReport = (path: string, kind: FileKind) => void

type Kinded = {
  isFile(): boolean
  isDirectory(): boolean
  isFIFO(): boolean
  isSocket(): boolean
  isCharacterDevice(): boolean
  isBlockDevice(): boolean
}
type BigStats = Kinded & { dev: bigint; ino: bigint; size: bigint; mtimeMs: bigint }

const toStat = (s: BigStats): FileStat => ({
  dev: String(s.dev),
  ino: String(s.ino),
  size: Number(s.size),
  mtimeMs: Number(s.mtimeMs),
})

/** The kind of a non-regular file, for a log line. */
export function fileKind(s: Kinded): FileKind {
  if (s.isDirectory()) return "directory"
  if (s.isFIFO()) return "FIFO"
  if (s.isSocket()) return "socket"
  if (s.isCharacterDevice()) return "character device"
  if (s.isBlockDevice()) return "block device"
  return "special file"
}

export const sameFile = (a: FileId, b: FileId): boolean => a.dev === b.dev && a.ino === b.ino
export const fileKey = (id: FileId): string => `${id.dev}:${id.ino}`

/** Stat of an open descriptor. */
export function fstatFile(fd: number): FileStat {
  return toStat(fstatSync(fd, { bigint: true }))
}

/** Stat of a path (following symlinks); undefined when it is missing or not a regular file. */
export function statFile(path: string): FileStat | undefined {
  const s = statSync(path, { bigint: true, throwIfNoEntry: false })
  return s?.isFile() ? toStat(s) : undefined
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, and a sync open would freeze the
// whole agent (signals included). On a regular file the flag changes nothing. O_NOCTTY: a tty is never adopted.
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY

/**
 * Opens a regular file for reading; undefined when the path is missing or holds something else (then `skipped`
 * is told what). The path is looked at first so that a device or FIFO is never opened; the descriptor is checked
 * again because the path may change in between.
 */
export function openFile(path: string, skipped?: SkipReport): OpenedFile | undefined {
  const before = statSync(path, { bigint: true, throwIfNoEntry: false })
  if (!before) return undefined
  if (!before.isFile()) {
    skipped?.(path, fileKind(before))
    return undefined
  }
  let fd: number
  try {
    fd = openSync(path, READ_FLAGS)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error
  }
  const s = fstatSync(fd, { bigint: true })
  if (!s.isFile()) {
    closeSync(fd)
    skipped?.(path, fileKind(s))
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
