import { describe, expect, test } from "bun:test"
import { createScheduler, type Job, jitterOffset, type RunRecord } from "./schedule.ts"

/** Runs the scheduler for `ms`, then stops it and waits for it. */
async function runFor(jobs: Job[], ms: number, concurrency?: number) {
  const starts: RunRecord[] = []
  const scheduler = createScheduler({ jobs, concurrency, onStart: (r) => starts.push(r) })
  const stop = new AbortController()
  const done = scheduler.run(stop.signal)
  await Bun.sleep(ms)
  stop.abort()
  await done
  return {
    starts,
    stats: (key: string) => scheduler.stats(key),
    of: (key: string) => starts.filter((s) => s.key === key),
  }
}

/** A job whose runs take `ms` (ended early by the stop signal) and that tracks how many of it run at once. */
function job(key: string, periodMs: number, runMs: number, offsetMs = 0) {
  const seen = { active: 0, maxActive: 0, ends: 0 }
  const j: Job & { seen: typeof seen } = {
    key,
    periodMs,
    offsetMs,
    seen,
    async run(signal) {
      seen.active++
      seen.maxActive = Math.max(seen.maxActive, seen.active)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, runMs)
        const stop = () => {
          clearTimeout(timer)
          resolve()
        }
        signal.addEventListener("abort", stop, { once: true })
      })
      seen.active--
      seen.ends++
    },
  }
  return j
}

describe("jitter", () => {
  test("deterministic, inside the period, spread over it", () => {
    expect(jitterOffset("api\0edge-1", 60_000)).toBe(jitterOffset("api\0edge-1", 60_000))
    expect(jitterOffset("api\0edge-1", 60_000)).not.toBe(jitterOffset("api\0edge-2", 60_000))
    const offsets = Array.from({ length: 200 }, (_, i) => jitterOffset(`check-${i}\0edge-1`, 1000))
    for (const o of offsets) {
      expect(o).toBeGreaterThanOrEqual(0)
      expect(o).toBeLessThan(1000)
    }
    // every tenth of the period gets some first runs
    const tenths = new Set(offsets.map((o) => Math.floor(o / 100)))
    expect(tenths.size).toBe(10)
  })

  test("first runs happen at their offsets", async () => {
    const jobs = [0, 100, 200].map((offset) => job(`j${offset}`, 1000, 1, offset))
    const { starts } = await runFor(jobs, 300)
    expect(starts.map((s) => s.key)).toEqual(["j0", "j100", "j200"])
    const origin = (starts[0] as RunRecord).scheduledAt
    expect(starts.map((s) => Math.round(s.scheduledAt - origin))).toEqual([0, 100, 200])
    for (const s of starts) expect(s.startedAt - s.scheduledAt).toBeLessThan(20)
  })
})

describe("fixed rate", () => {
  test("slots are offset + n * period whatever the runs take: no drift", async () => {
    const { of } = await runFor([job("a", 50, 20)], 530)
    const runs = of("a")
    expect(runs.length).toBeGreaterThanOrEqual(10)
    const first = runs[0] as RunRecord
    runs.forEach((r, n) => {
      expect(r.scheduledAt - first.scheduledAt).toBeCloseTo(n * 50, 6)
      expect(r.startedAt - r.scheduledAt).toBeLessThan(20)
    })
  })

  test("a job slower than its period never overlaps itself; the slots it is busy for are skipped and counted", async () => {
    const slow = job("slow", 50, 120)
    const { of, stats } = await runFor([slow], 520)
    expect(slow.seen.maxActive).toBe(1)
    const s = stats("slow")
    expect(s?.skips).toBeGreaterThanOrEqual(5)
    // 11 slots in 520 ms: each either ran or was skipped
    expect((s?.runs ?? 0) + (s?.skips ?? 0)).toBeGreaterThanOrEqual(10)
    expect(of("slow").length).toBe(s?.runs ?? -1)
    // a run after skips starts at a slot of its own, not when the previous one ended
    const runs = of("slow")
    for (const r of runs) expect(Math.round(r.scheduledAt - (runs[0] as RunRecord).scheduledAt) % 50).toBe(0)
  })
})

describe("concurrency", () => {
  test("at most `concurrency` runs at once; the rest wait their turn", async () => {
    let active = 0
    let max = 0
    const jobs: Job[] = Array.from({ length: 6 }, (_, i) => ({
      key: `j${i}`,
      periodMs: 10_000,
      offsetMs: 0,
      async run() {
        active++
        max = Math.max(max, active)
        await Bun.sleep(40)
        active--
      },
    }))
    const { starts } = await runFor(jobs, 200, 2)
    expect(max).toBe(2)
    expect(starts).toHaveLength(6)
    // three waves of two
    const waits = starts.map((s) => s.startedAt - s.scheduledAt).sort((a, b) => a - b)
    expect(waits[5]).toBeGreaterThanOrEqual(75)
  })

  test("a hanging job holds one place only: with concurrency 2 another keeps its schedule", async () => {
    const { of } = await runFor([job("hangs", 100, 10_000), job("steady", 50, 5, 10)], 600, 2)
    const steady = of("steady")
    expect(steady.length).toBeGreaterThanOrEqual(10)
    for (const r of steady) expect(r.startedAt - r.scheduledAt).toBeLessThan(50)
  })

  test("stopping ends the runs in progress (they see the signal) and run() resolves", async () => {
    const hanging = job("hangs", 100, 60_000)
    const started = Date.now()
    await runFor([hanging], 50)
    expect(hanging.seen.ends).toBe(1)
    expect(Date.now() - started).toBeLessThan(1000)
  })
})
