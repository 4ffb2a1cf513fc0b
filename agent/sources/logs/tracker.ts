import type { LogsSourceConfig } from "../../config/schema.ts"
import type { LogChunk } from "../source.ts"
import { createAdmission } from "./admission.ts"
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
  log: (msg: string) => void
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
  close(): void
}

export function createTracker(o: TrackerOptions): Tracker {
  const { config, cp, now, log } = o
  const tailOptions: TailOptions = {
    chunkBytes: config.read_chunk_bytes,
    maxLineBytes: config.max_line_bytes,
    rules: o.rules,
  }
  const live = new Map<string, Generation>() // by gen id; insertion order is the round-robin order
  const active = new Map<string, Generation>() // by path
  const admission = createAdmission(cp, config.rotate_wait_ms + config.poll_interval_ms, now)
  const failures = new Map<string, string>() // path or gen -> last error logged, so it is logged once
  const say = (msg: string) => log(`logs[${config.name}]: ${msg}`)
  const skips = createSkipLog(say)

  const track = (g: Generation) => {
    live.set(g.ref.gen, g)
    if (g.status === "active") active.set(g.ref.path, g)
  }
  const untrack = (g: Generation) => {
    live.delete(g.ref.gen)
    if (active.get(g.ref.path) === g) active.delete(g.ref.path)
  }
  const finish = (g: Generation) => {
    untrack(g)
    finishGeneration(g, cp)
  }
  const drain = (g: Generation, at: number) => {
    if (active.get(g.ref.path) === g) active.delete(g.ref.path)
    g.status = "draining"
    g.changedAt = at
    cp.setStatus(g.ref.gen, "draining")
    o.requestRescan()
  }

  const start = (path: string, atEnd: boolean, initial: boolean) => {
    const f = openFile(path, skips.report)
    if (!f) return
    skips.forget(path)
    if (admission.judge(f, live.values(), initial) !== "new") {
      closeQuietly(f.fd)
      return
    }
    const fp = readFingerprint(f.fd, f.stat.size)
    const position = atEnd ? f.stat.size : 0
    const gen = crypto.randomUUID()
    // the row exists before any chunk of it is emitted: a crash cannot lose the generation's identity
    cp.insert(gen, path, f.stat, fp, position, f.stat.size, "active")
    track(newGeneration(gen, path, f, fp, position, "active", now(), false))
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
        say(`${g.ref.path} was truncated with ${lost} bytes unread and no copy found; they are lost`)
      finish(g)
      o.requestRescan()
      return
    }
    closeQuietly(g.tail.fd)
    g.tail.fd = copy.fd
    g.file = { dev: copy.stat.dev, ino: copy.stat.ino }
    g.size = copy.stat.size
    cp.setFile(g.ref.gen, g.file, "draining")
    drain(g, at)
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
      if (!current || !sameFile(current, g.file)) drain(g, at) // renamed away or deleted: read on via the fd
    }
    if (size !== g.size) {
      g.size = size
      g.changedAt = at
    }
    const final = g.status === "draining" && at - g.changedAt >= config.rotate_wait_ms
    const read = readChunk(g.tail, size, final, tailOptions)
    if (!read) {
      if (final) finish(g)
      return undefined
    }
    g.emitted = read.endOffset
    const { endOffset } = read
    return { source: config.name, file: g.ref, ...read, readAt: now(), ack: () => ack(g, endOffset) }
  }

  const ack = (g: Generation, endOffset: number) => {
    try {
      ackGeneration(g, endOffset, cp)
    } catch (error) {
      say(`cannot save the position of ${g.ref.path} (generation ${g.ref.gen}): ${(error as Error).message}`)
    }
  }

  const once = (key: string, msg: string) => {
    if (failures.get(key) !== msg) say(msg)
    failures.set(key, msg)
  }

  return {
    restore() {
      for (const g of restoreGenerations(cp, now(), say, skips.report)) track(g)
    },
    rescan(paths, { initial = false, atEnd = false } = {}) {
      for (const path of paths) {
        if (active.has(path) || admission.known(path)) continue
        try {
          start(path, atEnd, initial)
          failures.delete(path)
        } catch (error) {
          once(path, `cannot open ${path}: ${(error as Error).message}`)
        }
      }
      admission.prune(paths)
    },
    round: () => [...live.values()],
    step(g) {
      try {
        const chunk = step(g)
        failures.delete(g.ref.gen)
        return chunk
      } catch (error) {
        once(g.ref.gen, `cannot read ${g.ref.path} (generation ${g.ref.gen}): ${(error as Error).message}`)
        return undefined
      }
    },
    close() {
      for (const g of live.values()) closeQuietly(g.tail.fd)
      live.clear()
      active.clear()
    },
  }
}
