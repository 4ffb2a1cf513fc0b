import { dirname } from "node:path"
import type { Checkpoints } from "./checkpoint.ts"
import { fileKey, type OpenedFile, sameFile, statFile } from "./files.ts"
import type { Generation } from "./generation.ts"
import { checkFingerprint } from "./rotation.ts"

/** Decides whether a newly found file gets a generation (a glob may also match rotated names and copies). */
export type Admission = {
  /** true while `path` holds the file last judged "read" there: no need to open it again */
  known(path: string): boolean
  /**
   * "new": start a generation. "read": a file already read under another name (renamed, or a claimed copy).
   * "later": it starts like a file being read next to it, so it may be the copy copytruncate just made,
   * found before the truncation: the truncation check (every round) gets a little time to claim it; a file
   * that merely starts like its neighbour is only delayed by that time. Not at start-up (`initial`).
   */
  judge(f: OpenedFile, live: Iterable<Generation>, initial: boolean): "new" | "read" | "later"
  /** forgets what it noted about paths that no longer match */
  prune(paths: Set<string>): void
}

export function createAdmission(cp: Checkpoints, holdMs: number, now: () => number): Admission {
  const read = new Map<string, string>() // path -> dev:ino judged "read"
  const held = new Map<string, number>() // path -> since when a possible copy is held back

  const alreadyRead = (f: OpenedFile, live: Generation[]) =>
    live.some((g) => g.ref.path !== f.path && sameFile(g.file, f.stat)) ||
    cp.fingerprintsOf(f.stat, f.path).some((fp) => fp.bytes > 0 && checkFingerprint(f.fd, fp, f.stat.size).ok)

  const mayBeCopy = (f: OpenedFile, live: Generation[]) =>
    live.some(
      (g) =>
        g.status === "active" &&
        g.fp.bytes > 0 &&
        f.stat.size >= g.tail.position &&
        dirname(g.ref.path) === dirname(f.path) &&
        !sameFile(g.file, f.stat) &&
        checkFingerprint(f.fd, g.fp, f.stat.size).ok,
    )

  return {
    known(path) {
      const key = read.get(path)
      if (key === undefined) return false
      const st = statFile(path)
      if (st && fileKey(st) === key) return true
      read.delete(path)
      return false
    },
    judge(f, liveGens, initial) {
      const live = [...liveGens]
      if (alreadyRead(f, live)) {
        read.set(f.path, fileKey(f.stat))
        return "read"
      }
      const since = held.get(f.path) ?? now()
      if (!initial && now() - since < holdMs && mayBeCopy(f, live)) {
        held.set(f.path, since)
        return "later"
      }
      held.delete(f.path)
      return "new"
    },
    prune(paths) {
      for (const path of read.keys()) if (!paths.has(path)) read.delete(path)
      for (const path of held.keys()) if (!paths.has(path)) held.delete(path)
    },
  }
}
