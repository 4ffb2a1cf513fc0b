import { safeText } from "../../../shared/log-text.ts"
import { createRepeatLimiter, type Logger } from "../../../shared/logger.ts"
import type { LogsSourceConfig } from "../../config/schema.ts"
import type { FileStatus, LogChunk } from "../source.ts"
import { createAdmission } from "./admission.ts"
import { createBacklogLog, formatBytes } from "./backlog.ts"
import type { Checkpoints } from "./checkpoint.ts"
import { fstatFile, openFile, sameFile, statFile } from "./files.ts"
import {
  ackGeneration,
  closeQuietly,
  finishGeneration,
  type Generation,
  newGeneration,
} from "./generation.ts"
import { createSkipLog } from "./notices.ts"
import { restoreGenerations } from "./restore.ts"
import { checkFingerprint, FINGERPRINT_MAX_BYTES, findCopy, readFingerprint } from "./rotation.ts"
import type { RuleSet } from "./rules.ts"
import { readChunk, type TailOptions } from "./tailer.ts"

export type TrackerOptions = {
  config: LogsSourceConfig
  cp: Checkpoints
  rules: RuleSet | undefined
  now: () => number
  /** this source's logger: problems at warn (error for the state db), each file's life at info */
  logger: Logger
  /** backlog reporting: threshold and interval (defaults BACKLOG_BYTES, BACKLOG_PROGRESS_MS) */
  backlog?: { thresholdBytes?: number; everyMs?: number }
  /** a path may now hold a file that needs a new generation */
  requestRescan: () => void
}

/** The live generations of one source: which to read next, rotation and truncation checks, and reads. */
export type Tracker = {
  /** loads the generations saved by an earlier run (call once, first) */
  restore(): void
  /**
   * Starts generations for matching paths that have none. `initial`: the scan at start-up; `atEnd`: new
   * generations start at the current size.
   */
  rescan(paths: Set<string>, options?: { initial?: boolean; atEnd?: boolean }): void
  /** the live generations in round-robin order */
  round(): Generation[]
  /** checks one generation and reads its next chunk, if any */
  step(g: Generation): LogChunk | undefined
  /** the live generations, for /metrics and the agent's page */
  files(): FileStatus[]
  close(): void
}

/** The same failure (cannot open, cannot read, cannot save) is logged again at most this often. */
const REPEAT_MS = 60_000

/** A path as a log line shows it: a glob may match names with control characters. */
const shown = (path: string) => safeText(path, 1024)

export function createTracker(o: TrackerOptions): Tracker {
  const { config, cp, now, logger } = o
  const tailOptions: TailOptions = {
    chunkBytes: config.read_chunk_bytes,
    maxLineBytes: config.max_line_bytes,
    rules: o.rules,
  }
  const live = new Map<string, Generation>() // by gen id; insertion order is the round-robin order
  const active = new Map<string, Generation>() // by path
  const admission = createAdmission(cp, config.rotate_wait_ms + config.poll_interval_ms, now)
  const failing = new Set<string>() // keys of the failures logged and not yet over
  const repeat = createRepeatLimiter(REPEAT_MS, now)
  const warn = (msg: string) => logger.warn(msg)
  const skips = createSkipLog(warn)
  const backlog = createBacklogLog({ say: (msg) => logger.info(msg), now, ...o.backlog })

  const track = (g: Generation) => {
    live.set(g.ref.gen, g)
    if (g.status === "active") active.set(g.ref.path, g)
  }
  const untrack = (g: Generation) => {
    live.delete(g.ref.gen)
    if (active.get(g.ref.path) === g) active.delete(g.ref.path)
    backlog.forget(g.ref.gen)
    failing.delete(`read:${g.ref.gen}`)
  }
  /** `how`: why reading it ends, for the log line */
  const finish = (g: Generation, how: string) => {
    untrack(g)
    finishGeneration(g, cp)
    const read = g.tail.position - g.readFrom
    logger.info(
      `done with ${shown(g.ref.path)} (${how}) at byte ${g.tail.position}: ${formatBytes(read)} read`,
      {
        gen: g.ref.gen,
      },
    )
  }
  const drain = (g: Generation, at: number) => {
    if (active.get(g.ref.path) === g) active.delete(g.ref.path)
    g.status = "draining"
    g.changedAt = at
    cp.setStatus(g.ref.gen, "draining")
    o.requestRescan()
  }

  /** false when there was no regular file to open */
  const start = (path: string, atEnd: boolean, initial: boolean): boolean => {
    const f = openFile(path, skips.report)
    if (!f) return false
    skips.forget(path)
    if (admission.judge(f, live.values(), initial) !== "new") {
      closeQuietly(f.fd)
      return true
    }
    const fp = readFingerprint(f.fd, f.stat.size)
    const position = atEnd ? f.stat.size : 0
    const gen = crypto.randomUUID()
    // the row exists before any chunk of it is emitted: a crash cannot lose the generation's identity
    cp.insert(gen, path, f.stat, fp, position, f.stat.size, "active")
    track(newGeneration(gen, path, f, fp, position, "active", now(), false))
    const from = position === 0 ? "from the start" : `from its end, byte ${position} (start_at = "end")`
    logger.info(`reading ${shown(path)} ${from}`, { gen, size: f.stat.size })
    return true
  }

  /**
   * True when the file at the generation's fd no longer holds what was read: truncated or rewritten. Else
   * the fingerprint grows with the file (up to its cap), so that it always covers what was read: that is how
   * a copy or a renamed file is recognised later.
   */
  const truncated = (g: Generation, size: number) => {
    if (size < g.tail.position) return true
    const short = g.fp.bytes < Math.min(size, FINGERPRINT_MAX_BYTES)
    if (size === g.size && !short) return false
    // a draining generation's file is no longer at the path (or is a copy): nothing can truncate it under us
    if (g.status === "draining" && !short) return false
    const check = checkFingerprint(g.tail.fd, g.fp, size)
    if (!check.ok) return g.status === "active"
    if (check.extended) {
      g.fp = check.extended
      cp.setFingerprint(g.ref.gen, g.fp)
    }
    return false
  }

  /** copytruncate leaves the unread rest in a copy: finish the generation from there, else from nowhere. */
  const onTruncated = (g: Generation, at: number) => {
    const copy = findCopy(g.ref.path, g.file, g.fp, g.tail.position, skips.report)
    if (!copy) {
      const lost = g.size - g.tail.position
      if (lost > 0)
        warn(`${shown(g.ref.path)} was truncated with ${lost} bytes unread and no copy found; they are lost`)
      finish(g, "truncated")
      o.requestRescan()
      return
    }
    closeQuietly(g.tail.fd)
    g.tail.fd = copy.fd
    g.file = { dev: copy.stat.dev, ino: copy.stat.ino }
    g.size = copy.stat.size
    cp.setFile(g.ref.gen, g.file, "draining")
    drain(g, at)
    logger.info(
      `${shown(g.ref.path)} was truncated (copytruncate): reading the rest from its copy ${shown(copy.path)}`,
      {
        gen: g.ref.gen,
        position: g.tail.position,
      },
    )
  }

  const step = (g: Generation): LogChunk | undefined => {
    const at = now()
    const { size } = fstatFile(g.tail.fd)
    if (truncated(g, size)) {
      onTruncated(g, at)
      return undefined
    }
    if (g.status === "active") {
      const current = statFile(g.ref.path)
      if (!current || !sameFile(current, g.file)) {
        drain(g, at) // renamed away or deleted: read on via the fd
        const where = current ? "renamed away, a new file is in its place" : "renamed away or deleted"
        logger.info(`${shown(g.ref.path)} was rotated (${where}): reading the old file to its end`, {
          gen: g.ref.gen,
          position: g.tail.position,
          size,
        })
      }
    }
    if (size !== g.size) {
      g.size = size
      g.changedAt = at
    }
    const final = g.status === "draining" && at - g.changedAt >= config.rotate_wait_ms
    const read = readChunk(g.tail, size, final, tailOptions)
    if (!read) {
      if (final) finish(g, "the rotated file read to its end")
      return undefined
    }
    backlog.update(g.ref.gen, shown(g.ref.path), g.tail.position, size)
    g.emitted = read.endOffset
    const { endOffset } = read
    return { source: config.name, file: g.ref, ...read, readAt: now(), ack: () => ack(g, endOffset) }
  }

  const ack = (g: Generation, endOffset: number) => {
    try {
      ackGeneration(g, endOffset, cp)
    } catch (error) {
      const msg = `cannot save the position of ${shown(g.ref.path)} (generation ${g.ref.gen}): ${(error as Error).message}`
      repeat("save", (m) => logger.error(m), msg)
    }
  }

  /** A failure is logged at once, then at most once per REPEAT_MS while it lasts (with how often it recurred). */
  const failed = (key: string, msg: string) => {
    failing.add(key)
    repeat(key, warn, msg)
  }
  const recovered = (key: string, msg: string) => {
    if (failing.delete(key)) logger.info(msg)
  }

  return {
    restore() {
      for (const g of restoreGenerations(cp, now(), warn, skips.report)) {
        track(g)
        const how = g.status === "active" ? "" : " (rotated while the agent was stopped: from the old file)"
        logger.info(`resuming ${shown(g.ref.path)}${how} at byte ${g.tail.position}`, {
          gen: g.ref.gen,
          size: g.size,
        })
      }
    },
    rescan(paths, { initial = false, atEnd = false } = {}) {
      for (const path of paths) {
        if (active.has(path) || admission.known(path)) continue
        try {
          if (start(path, atEnd, initial)) recovered(`open:${path}`, `can open ${shown(path)} again`)
        } catch (error) {
          failed(`open:${path}`, `cannot open ${shown(path)}: ${(error as Error).message}`)
        }
      }
      admission.prune(paths)
    },
    round: () => [...live.values()],
    step(g) {
      try {
        const chunk = step(g)
        recovered(`read:${g.ref.gen}`, `can read ${shown(g.ref.path)} again`)
        return chunk
      } catch (error) {
        const msg = `cannot read ${shown(g.ref.path)} (generation ${g.ref.gen}): ${(error as Error).message}`
        failed(`read:${g.ref.gen}`, msg)
        return undefined
      }
    },
    files: () =>
      [...live.values()].map((g) => ({
        source: config.name,
        path: g.ref.path,
        gen: g.ref.gen,
        state: g.status,
        position: g.tail.position,
        acked: g.acked,
        size: g.size,
        behind: Math.max(0, g.size - g.tail.position),
      })),
    close() {
      for (const g of live.values()) closeQuietly(g.tail.fd)
      live.clear()
      active.clear()
    },
  }
}
