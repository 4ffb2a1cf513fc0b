/** CPU time and memory of processes, read from /proc. */
import { readdirSync, readFileSync } from "node:fs"

const CLK_TCK = (() => {
  try {
    const out = Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()
    const n = Number(out)
    return Number.isFinite(n) && n > 0 ? n : 100
  } catch {
    return 100
  }
})()

export type ProcSample = {
  /** user + system CPU seconds of the process itself */
  cpuSeconds: number
  /** CPU seconds of its children that it has already waited for */
  childCpuSeconds: number
  rssBytes: number
  /** VmHWM: the kernel's peak resident set size of this process */
  hwmBytes: number
  comm: string
}

/** One reading of /proc/<pid>/stat and /proc/<pid>/status; undefined once the process is gone. */
export function readProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const close = stat.lastIndexOf(")")
    const comm = stat.slice(stat.indexOf("(") + 1, close)
    const f = stat
      .slice(close + 2)
      .split(" ")
      .map(Number)
    // after "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
    const cpuSeconds = ((f[11] ?? 0) + (f[12] ?? 0)) / CLK_TCK
    const childCpuSeconds = ((f[13] ?? 0) + (f[14] ?? 0)) / CLK_TCK
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024
    return { cpuSeconds, childCpuSeconds, rssBytes: kb("VmRSS"), hwmBytes: kb("VmHWM"), comm }
  } catch {
    return undefined
  }
}

/** Direct children of a process (all its threads' children). */
export function childPids(pid: number): number[] {
  const out: number[] = []
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim()
      if (text) for (const p of text.split(/\s+/)) out.push(Number(p))
    }
  } catch {
    // gone
  }
  return out
}

/** The process and all its descendants. */
export function processTree(pid: number): number[] {
  const out = [pid]
  for (let i = 0; i < out.length; i++) out.push(...childPids(out[i] as number))
  return out
}

/** A direct child of this bench process by command name (e.g. the nats-server the harness started). */
export function findOwnChild(comm: string): number | undefined {
  return childPids(process.pid)
    .filter((pid) => readProc(pid)?.comm === comm)
    .sort((a, b) => b - a)[0]
}

export type ProcFigures = {
  /** CPU seconds of the process and its descendants (last reading of each) */
  cpuSeconds: number
  /** max of the kernel's VmHWM of the main process and the sampled RSS of the whole tree */
  peakRssBytes: number
  hwmBytes: number
  sampledPeakRssBytes: number
  rssNowBytes: number
  samples: number
  alive: boolean
}

/**
 * Samples a process (and any children it has) every `intervalMs`: RSS of the tree, VmHWM and CPU seconds.
 * A compiled or `bun`-run agent/collector is one process, so the tree is normally just the pid.
 */
export class ProcMonitor {
  private readonly cpuByPid = new Map<number, number>()
  private hwm = 0
  private sampledPeak = 0
  private rssNow = 0
  private count = 0
  private alive = true
  private timer: ReturnType<typeof setInterval> | undefined
  readonly series: Array<{ t: number; rss: number }> = []

  constructor(
    readonly pid: number,
    intervalMs = 200,
  ) {
    this.sample()
    this.timer = setInterval(() => this.sample(), intervalMs)
  }

  /** Takes a reading now (call it right before reading `figures()` at a measurement point). */
  sample(): void {
    const root = readProc(this.pid)
    if (!root) {
      this.alive = false
      return
    }
    let rss = 0
    for (const pid of processTree(this.pid)) {
      const s = pid === this.pid ? root : readProc(pid)
      if (!s) continue
      rss += s.rssBytes
      this.cpuByPid.set(pid, s.cpuSeconds)
    }
    this.hwm = Math.max(this.hwm, root.hwmBytes)
    this.sampledPeak = Math.max(this.sampledPeak, rss)
    this.rssNow = rss
    this.count++
    this.series.push({ t: Date.now(), rss })
  }

  figures(): ProcFigures {
    let cpu = 0
    for (const v of this.cpuByPid.values()) cpu += v
    return {
      cpuSeconds: cpu,
      peakRssBytes: Math.max(this.hwm, this.sampledPeak),
      hwmBytes: this.hwm,
      sampledPeakRssBytes: this.sampledPeak,
      rssNowBytes: this.rssNow,
      samples: this.count,
      alive: this.alive,
    }
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }
}
