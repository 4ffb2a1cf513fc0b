import { safeText } from "../../../shared/log-text.ts"
import type { FileKind, SkipReport } from "./files.ts"

/** Most distinct skipped paths remembered; past that they are not logged one by one (a hostile directory). */
const MAX_SKIPPED = 1000

/**
 * Logs each path that is skipped for not being a regular file once (again if its kind changes), so that a FIFO
 * looked at on every poll or copy search gives one line, not one per look.
 */
export function createSkipLog(say: (msg: string) => void): {
  report: SkipReport
  forget(path: string): void
} {
  const seen = new Map<string, FileKind>()
  let overflowed = false
  return {
    report(path, kind) {
      if (seen.get(path) === kind) return
      if (seen.size >= MAX_SKIPPED && !seen.has(path)) {
        if (!overflowed) say(`more than ${MAX_SKIPPED} files that are not regular files; not listing more`)
        overflowed = true
        return
      }
      seen.set(path, kind)
      say(`skipping ${safeText(path, 1024)}: a ${kind}, not a regular file`)
    },
    forget(path) {
      seen.delete(path)
    },
  }
}

/**
 * Says when a configured path or glob matches no file (warn): once at the first scan, then only when that changes
 * ("now matches 3 files" at info, "matches no file any more" at warn), so polling never floods the log.
 */
export function createMatchLog(say: {
  warn(msg: string): void
  info(msg: string): void
}): (pattern: string, count: number) => void {
  const matched = new Map<string, boolean>()
  return (pattern, count) => {
    const before = matched.get(pattern)
    const now = count > 0
    matched.set(pattern, now)
    if (before === now) return
    const p = safeText(pattern, 1024)
    if (before === undefined) {
      if (!now) say.warn(`${p} matches no file yet`)
    } else if (now) say.info(`${p} now matches ${count} file${count === 1 ? "" : "s"}`)
    else say.warn(`${p} matches no file any more`)
  }
}
