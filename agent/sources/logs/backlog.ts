/** More unread bytes than this behind the read position is a backlog worth reporting. */
export const BACKLOG_BYTES = 8 * 1024 * 1024
/** How often a backlog's progress is logged. */
export const BACKLOG_PROGRESS_MS = 10_000

export type BacklogOptions = {
  /** info lines */
  say(message: string): void
  now: () => number
  thresholdBytes?: number
  everyMs?: number
}

type Catching = { path: string; fromPosition: number; fromAt: number; lastPosition: number; lastAt: number }

/**
 * Tells the operator that a file is being caught up (the agent started behind a big file, or comes back from an
 * outage): once when the backlog appears, then every `everyMs` with the share done and an ETA from the rate since
 * the last report, and once when it is gone (less than an eighth of the threshold left, so that a busy file does
 * not flip between the two).
 */
export function createBacklogLog(o: BacklogOptions) {
  const threshold = o.thresholdBytes ?? BACKLOG_BYTES
  const every = o.everyMs ?? BACKLOG_PROGRESS_MS
  const catching = new Map<string, Catching>() // by generation
  return {
    /** after a read of generation `gen`: where it stands now */
    update(gen: string, path: string, position: number, size: number): void {
      const behind = size - position
      const at = o.now()
      const c = catching.get(gen)
      if (!c) {
        if (behind <= threshold) return
        catching.set(gen, { path, fromPosition: position, fromAt: at, lastPosition: position, lastAt: at })
        o.say(`catching up on ${path}: ${formatBytes(behind)} to read`)
        return
      }
      if (behind < threshold / 8) {
        catching.delete(gen)
        const read = position - c.fromPosition
        o.say(`caught up on ${path}: read ${formatBytes(read)} in ${formatDuration(at - c.fromAt)}`)
        return
      }
      if (at - c.lastAt < every) return
      const rate = (position - c.lastPosition) / ((at - c.lastAt) / 1000)
      const total = size - c.fromPosition
      const done = total > 0 ? Math.floor(((position - c.fromPosition) / total) * 100) : 0
      const pace =
        rate > 0
          ? `${formatBytes(rate)}/s, about ${formatDuration((behind / rate) * 1000)} left`
          : `no progress in the last ${formatDuration(at - c.lastAt)} (waiting to publish)`
      o.say(`catching up on ${path}: ${done}% done, ${formatBytes(behind)} to read, ${pace}`)
      c.lastAt = at
      c.lastPosition = position
    },
    /** the generation is gone (read to its end, truncated): nothing more to say about it */
    forget(gen: string): void {
      catching.delete(gen)
    },
  }
}

/** 512 B, 3.4 KiB, 12.0 MiB, 1.5 GiB */
export function formatBytes(bytes: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB"]
  if (bytes < 1024) return `${Math.round(bytes)} B`
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}

/** 800 ms, 12 s, 4 min, 3.5 h */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`
  return `${(ms / 3_600_000).toFixed(1)} h`
}
