import { expect, test } from "bun:test"
import { closeSync, openSync } from "node:fs"
import { openFds, registerProcessMetrics } from "./process.ts"
import { MetricsRegistry } from "./registry.ts"

test("process_* metrics carry the standard names and plausible values", () => {
  const r = new MetricsRegistry()
  registerProcessMetrics(r)
  const text = r.render()
  for (const name of [
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
  ])
    expect(text).toContain(`# TYPE ${name} `)
  expect(text).toContain("# TYPE process_cpu_seconds_total counter")
  expect(r.value("process_resident_memory_bytes")).toBeGreaterThan(1024 * 1024)
  const start = r.value("process_start_time_seconds")
  expect(start).toBeLessThanOrEqual(Date.now() / 1000)
  expect(start).toBeGreaterThan(Date.now() / 1000 - 3600)
  expect(r.value("process_cpu_seconds_total")).toBeGreaterThan(0)
  if (process.platform === "linux") {
    expect(r.value("process_open_fds")).toBeGreaterThan(2)
    expect(r.value("process_max_fds")).toBeGreaterThan(0)
  }
})

test.skipIf(process.platform !== "linux")("open fds follow files being opened and closed", () => {
  const before = openFds() as number
  const fds = [0, 1, 2, 3, 4].map(() => openSync("/proc/self/status", "r"))
  expect(openFds()).toBe(before + 5)
  for (const fd of fds) closeSync(fd)
  expect(openFds()).toBe(before)
})
