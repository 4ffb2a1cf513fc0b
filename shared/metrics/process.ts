import { readdirSync, readFileSync } from "node:fs"
import type { MetricsRegistry } from "./registry.ts"

/**
 * Registers the standard `process_*` metrics of Prometheus client libraries, read at each scrape: CPU seconds,
 * resident memory, start time, and (Linux, from /proc/self) open and maximum file descriptors. Dashboards and
 * alerts written for any exporter work on them unchanged.
 */
export function registerProcessMetrics(registry: MetricsRegistry): void {
  registry.observed(
    "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds.",
    "counter",
    () => {
      const { user, system } = process.cpuUsage()
      return (user + system) / 1e6
    },
  )
  registry.observed("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", () =>
    process.memoryUsage.rss(),
  )
  const startedAt = Math.round(Date.now() - process.uptime() * 1000) / 1000
  registry.observed(
    "process_start_time_seconds",
    "Start time of the process since unix epoch in seconds.",
    "gauge",
    () => startedAt,
  )
  registry.observed("process_open_fds", "Number of open file descriptors.", "gauge", openFds)
  const max = maxFds()
  registry.observed("process_max_fds", "Maximum number of open file descriptors.", "gauge", () => max)
}

/** Entries of /proc/self/fd (the listing's own descriptor included, as client_golang counts); undefined off Linux. */
export function openFds(): number | undefined {
  try {
    return readdirSync("/proc/self/fd").length
  } catch {
    return undefined
  }
}

/** The soft limit on open files (`Max open files` in /proc/self/limits); undefined off Linux or when unlimited. */
export function maxFds(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"))
    const soft = Number(line?.slice("Max open files".length).trim().split(/\s+/)[0])
    return Number.isFinite(soft) ? soft : undefined
  } catch {
    return undefined
  }
}
