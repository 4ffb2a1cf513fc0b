import { randomBytes } from "node:crypto"
import {
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs"
import { basename, dirname, join } from "node:path"

/**
 * Replaces `path` with a new file holding `data` with exactly `mode`: written to a fresh temp file in the same
 * directory (O_EXCL, so nothing already there is reused or followed), synced, then renamed over `path`. A rename
 * replaces a symlink at `path` itself, never the file it points to, and readers see the old file or the new one.
 */
export function replaceFile(path: string, data: string, mode: number): void {
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`)
  const fd = openSync(
    temp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    mode,
  )
  try {
    try {
      fchmodSync(fd, mode) // exactly this mode, whatever the umask
      const bytes = Buffer.from(data)
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, path)
  } catch (error) {
    try {
      unlinkSync(temp)
    } catch {
      // already renamed or gone
    }
    throw error
  }
  syncDirectory(dir)
}

/** Makes the rename itself durable. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
