import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { safeText } from "../../shared/log-text.ts"
import type { Logger } from "../../shared/logger.ts"
import { type Enrollment, loadEnrollment } from "./enrollment.ts"

/** Size, mtime and inode of the keys file, or of every `*.pub` in the keys directory: changes when any does. */
function fingerprint(path: string): string {
  try {
    const st = statSync(path)
    if (!st.isDirectory()) return `${st.ino}:${st.size}:${st.mtimeMs}`
    return readdirSync(path)
      .filter((name) => name.endsWith(".pub"))
      .sort()
      .map((name) => {
        const f = statSync(join(path, name))
        return `${name}:${f.ino}:${f.size}:${f.mtimeMs}`
      })
      .join("|")
  } catch (error) {
    return `error:${(error as Error).message}`
  }
}

export type EnrollmentWatchOptions = {
  path: string
  initial: Enrollment
  log: Logger
  /** a new, valid enrollment is in effect */
  onChange(enrollment: Enrollment): void | Promise<void>
  onReload?(result: "ok" | "error"): void
  intervalMs?: number
}

/** Number of keys in an enrollment. */
export function keyCount(enrollment: Enrollment): number {
  let n = 0
  for (const keys of enrollment.values()) n += keys.size
  return n
}

/**
 * Keeps the enrolled keys current without a restart: `enrolled_keys` is looked at every second (a stat, so it
 * also sees files replaced by rename, which inotify watches lose) and reloaded on change or on `reload()`
 * (SIGHUP). A file that no longer parses is reported and the previous keys stay in effect.
 */
export class EnrollmentWatch {
  private current: Enrollment
  private seen: string
  private timer: ReturnType<typeof setInterval> | undefined
  private reloading: Promise<void> = Promise.resolve()

  constructor(private readonly o: EnrollmentWatchOptions) {
    this.current = o.initial
    this.seen = fingerprint(o.path)
  }

  /** The keys in effect now. */
  get enrollment(): Enrollment {
    return this.current
  }

  start(): void {
    this.timer = setInterval(() => {
      if (fingerprint(this.o.path) !== this.seen) void this.reload("changed")
    }, this.o.intervalMs ?? 1000)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** Reads the keys again now; reloads are serialized. */
  reload(why: "changed" | "signal" | "command" = "signal"): Promise<void> {
    this.reloading = this.reloading.then(() => this.reloadNow(why))
    return this.reloading
  }

  private async reloadNow(why: string): Promise<void> {
    this.seen = fingerprint(this.o.path)
    let next: Enrollment
    try {
      next = loadEnrollment(this.o.path)
    } catch (error) {
      this.o.log.warn(
        `enrolled_keys ${why} but cannot be used, keeping the previous keys: ${safeText((error as Error).message)}`,
      )
      this.o.onReload?.("error")
      return
    }
    const before = keyCount(this.current)
    this.current = next
    this.o.log.info(
      `enrolled_keys reloaded (${why}): ${next.size} agent(s), ${keyCount(next)} key(s) (was ${before})`,
    )
    this.o.onReload?.("ok")
    try {
      await this.o.onChange(next)
    } catch (error) {
      this.o.log.warn(`after reloading enrolled_keys: ${safeText((error as Error).message)}`)
    }
  }
}
