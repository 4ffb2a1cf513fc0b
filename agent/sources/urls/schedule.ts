import { abortableSleep } from "../../../shared/abortable-sleep.ts"
import { MinHeap } from "./min-heap.ts"

/** Something run every `periodMs`, first at `offsetMs` after the scheduler starts. */
export type Job = { key: string; periodMs: number; offsetMs: number; run(signal: AbortSignal): Promise<void> }

/** One run as the scheduler saw it, on its monotonic clock (ms). */
export type RunRecord = { key: string; scheduledAt: number; startedAt: number }

/** A job's counters; times on the scheduler's monotonic clock (ms). */
export type JobStats = {
  runs: number
  /** slots passed over because the previous run was still going (or waiting for a free slot) */
  skips: number
  /** running or waiting in the queue */
  busy: boolean
  nextAt: number | null
  lastScheduledAt: number | null
  lastStartedAt: number | null
  /** start minus scheduled time of the last run, and the largest so far */
  lastDriftMs: number | null
  maxDriftMs: number
}

export type SchedulerOptions = {
  jobs: readonly Job[]
  /** most jobs running at once; the rest wait in a queue (default 64) */
  concurrency?: number
  /** called as each run starts (tests, benchmarks) */
  onStart?: (run: RunRecord) => void
  /** a job's run rejected (it should not: runs report their own failures) */
  onError?: (key: string, error: unknown) => void
}

export type Scheduler = {
  /** runs jobs until `signal` aborts, then waits for the runs in progress (they get the same signal) */
  run(signal: AbortSignal): Promise<void>
  stats(key: string): JobStats | undefined
}

/** The monotonic clock runs are scheduled on. */
export const monotonic = (): number => performance.now()

/**
 * A deterministic spread of first runs: FNV-1a of `seed` (check name and agent) as a fraction of the period, so
 * a fleet sharing one config does not fire in step, and a restart keeps each check's phase.
 */
export function jitterOffset(seed: string, periodMs: number): number {
  let hash = 0x811c9dc5
  for (const byte of new TextEncoder().encode(seed)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0
  return (hash / 2 ** 32) * periodMs
}

type JobState = { job: Job; stats: JobStats; next: number }

/**
 * Fixed-rate scheduling on the monotonic clock: slot n of a job is start + offset + n * period, whatever the
 * runs took, so runs do not drift. A job never overlaps itself: a slot that comes while its previous run is
 * running or queued is skipped and counted. At most `concurrency` runs at once; a due run waits in a FIFO queue
 * for a free place, so a hanging job (bounded by its own timeout) holds one place and delays no one else.
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const concurrency = Math.max(1, options.concurrency ?? 64)
  const states = new Map<string, JobState>()
  for (const job of options.jobs) {
    const stats: JobStats = {
      runs: 0,
      skips: 0,
      busy: false,
      nextAt: null,
      lastScheduledAt: null,
      lastStartedAt: null,
      lastDriftMs: null,
      maxDriftMs: 0,
    }
    states.set(job.key, { job, stats, next: 0 })
  }
  const queue: { state: JobState; scheduledAt: number }[] = []
  const running = new Set<Promise<void>>()

  const start = (state: JobState, scheduledAt: number, signal: AbortSignal) => {
    const startedAt = monotonic()
    const s = state.stats
    s.runs++
    s.lastScheduledAt = scheduledAt
    s.lastStartedAt = startedAt
    s.lastDriftMs = startedAt - scheduledAt
    s.maxDriftMs = Math.max(s.maxDriftMs, s.lastDriftMs)
    options.onStart?.({ key: state.job.key, scheduledAt, startedAt })
    const run: Promise<void> = Promise.resolve()
      .then(() => state.job.run(signal))
      .catch((error) => options.onError?.(state.job.key, error))
      .finally(() => {
        running.delete(run)
        s.busy = false
        pump(signal)
      })
    running.add(run)
  }

  const pump = (signal: AbortSignal) => {
    while (running.size < concurrency && !signal.aborted) {
      const item = queue.shift()
      if (!item) break
      start(item.state, item.scheduledAt, signal)
    }
  }

  return {
    async run(signal) {
      const origin = monotonic()
      for (const state of states.values()) {
        state.next = origin + state.job.offsetMs
        state.stats.nextAt = state.next
      }
      const due = new MinHeap<JobState>((state) => state.next)
      for (const state of states.values()) due.push(state)
      while (!signal.aborted) {
        const now = monotonic()
        for (let state = due.peek(); state && state.next <= now; state = due.peek()) {
          due.pop()
          while (state.next <= now) {
            if (state.stats.busy) state.stats.skips++
            else {
              state.stats.busy = true
              queue.push({ state, scheduledAt: state.next })
            }
            state.next += state.job.periodMs
          }
          state.stats.nextAt = state.next
          due.push(state)
        }
        pump(signal)
        const earliest = due.peek()?.next
        if (earliest === undefined)
          await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }))
        else await abortableSleep(Math.max(0, earliest - monotonic()), signal)
      }
      queue.length = 0
      await Promise.allSettled([...running])
    },
    stats: (key) => states.get(key)?.stats,
  }
}
