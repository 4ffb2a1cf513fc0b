/** Meters of this process and the machine during a bench run: event-loop stalls, thread CPU, machine load. */

import { readdirSync, readFileSync } from "node:fs"
import { cpus } from "node:os"
import { quantile } from "./format.ts"

/** Gaps between ticks of a short timer: how long the event loop could not run anything. */
export class StallMeter {
  private readonly gaps: number[] = []
  private last = performance.now()
  private readonly timer: ReturnType<typeof setInterval>

  constructor(readonly intervalMs = 5) {
    this.timer = setInterval(() => {
      const now = performance.now()
      this.gaps.push(now - this.last)
      this.last = now
    }, intervalMs)
  }

  /** Stops the timer; the longest gap, its 99th percentile and how many exceeded 100 ms (all in ms). */
  stop(): { maxMs: number; p99Ms: number; over100: number } {
    clearInterval(this.timer)
    const sorted = [...this.gaps].sort((a, b) => a - b)
    return {
      maxMs: sorted[sorted.length - 1] ?? 0,
      p99Ms: quantile(sorted, 0.99),
      over100: sorted.filter((g) => g > 100).length,
    }
  }
}

const CLK_TCK = 100

/** CPU seconds of this process: the main (JavaScript) thread and all other threads (DuckDB, GC, I/O). */
export function threadCpu(): { mainSeconds: number; otherSeconds: number } {
  let main = 0
  let other = 0
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8")
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      const seconds = (Number(f[11]) + Number(f[12])) / CLK_TCK
      if (Number(tid) === process.pid) main += seconds
      else other += seconds
    } catch {
      // the thread ended
    }
  }
  return { mainSeconds: main, otherSeconds: other }
}

export type MachineCpu = { busy: number; total: number; at: number }

/** Busy and total jiffies of all CPUs (from /proc/stat), with the time of the reading. */
export function machineCpu(): MachineCpu {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? ""
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0)
  const idle = (f[3] ?? 0) + (f[4] ?? 0)
  return { busy: total - idle, total, at: performance.now() }
}

/** Cores kept busy between two readings (by everything on the machine). */
export function busyCores(from: MachineCpu, to: MachineCpu): number {
  const ticks = to.total - from.total
  return ticks > 0 ? ((to.busy - from.busy) / ticks) * cpus().length : 0
}

/** The 1-minute load average. */
export function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0])
}
