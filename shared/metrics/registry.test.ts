import { expect, test } from "bun:test"
import { MetricsRegistry } from "./registry.ts"

test("renders counters and gauges in the Prometheus text format, with escaped labels", () => {
  const r = new MetricsRegistry()
  const rejected = r.counter("outpost_collector_envelopes_rejected_total", "Rejected envelopes")
  const untouched = r.counter("outpost_collector_flushes_total", "Flushes")
  const lag = r.gauge("outpost_collector_consumer_pending_messages", "Pending")
  rejected(1, { reason: "signature" })
  rejected(2, { reason: "signature" })
  rejected(1, { reason: 'we"ird\n' })
  lag(7)
  void untouched
  expect(r.render()).toBe(
    [
      "# HELP outpost_collector_envelopes_rejected_total Rejected envelopes",
      "# TYPE outpost_collector_envelopes_rejected_total counter",
      'outpost_collector_envelopes_rejected_total{reason="signature"} 3',
      'outpost_collector_envelopes_rejected_total{reason="we\\"ird\\n"} 1',
      "# HELP outpost_collector_flushes_total Flushes",
      "# TYPE outpost_collector_flushes_total counter",
      "outpost_collector_flushes_total 0",
      "# HELP outpost_collector_consumer_pending_messages Pending",
      "# TYPE outpost_collector_consumer_pending_messages gauge",
      "outpost_collector_consumer_pending_messages 7",
      "",
    ].join("\n"),
  )
  expect(r.sum("outpost_collector_envelopes_rejected_total")).toBe(4)
  expect(r.value("outpost_collector_envelopes_rejected_total", { reason: "signature" })).toBe(3)
})

test("histograms render cumulative buckets, +Inf, sum and count per label set", () => {
  const r = new MetricsRegistry()
  const flush = r.histogram("outpost_collector_flush_duration_seconds", "Flush time", [0.1, 1])
  flush(0.05)
  flush(0.5)
  flush(3, { table: "x" })
  expect(r.render()).toBe(
    [
      "# HELP outpost_collector_flush_duration_seconds Flush time",
      "# TYPE outpost_collector_flush_duration_seconds histogram",
      'outpost_collector_flush_duration_seconds_bucket{le="0.1"} 1',
      'outpost_collector_flush_duration_seconds_bucket{le="1"} 2',
      'outpost_collector_flush_duration_seconds_bucket{le="+Inf"} 2',
      "outpost_collector_flush_duration_seconds_sum 0.55",
      "outpost_collector_flush_duration_seconds_count 2",
      'outpost_collector_flush_duration_seconds_bucket{table="x",le="0.1"} 0',
      'outpost_collector_flush_duration_seconds_bucket{table="x",le="1"} 0',
      'outpost_collector_flush_duration_seconds_bucket{table="x",le="+Inf"} 1',
      'outpost_collector_flush_duration_seconds_sum{table="x"} 3',
      'outpost_collector_flush_duration_seconds_count{table="x"} 1',
      "",
    ].join("\n"),
  )
  expect(r.observations("outpost_collector_flush_duration_seconds")).toEqual({ count: 2, sum: 0.55 })
})

test("init exports known label sets at 0 once; remove drops a series; a re-registered name keeps its type", () => {
  const r = new MetricsRegistry()
  const rejected = r.counter("x_rejected_total", "Rejected")
  const flush = r.histogram("x_flush_duration_seconds", "Flush", [1])
  r.init("x_rejected_total", { reason: "signature" })
  rejected(2, { reason: "signature" })
  r.init("x_rejected_total", { reason: "signature" })
  r.init("x_flush_duration_seconds")
  expect(r.value("x_rejected_total", { reason: "signature" })).toBe(2)
  expect(r.render()).toContain('x_flush_duration_seconds_bucket{le="+Inf"} 0\nx_flush_duration_seconds_sum 0')
  flush(0.5)
  expect(r.observations("x_flush_duration_seconds")).toEqual({ count: 1, sum: 0.5 })
  r.remove("x_rejected_total", { reason: "signature" })
  expect(r.labelSets("x_rejected_total")).toEqual([])
  expect(() => r.gauge("x_rejected_total", "Rejected")).toThrow("is a counter")
  expect(() => r.init("x_unknown")).toThrow("not registered")
})

test("observed metrics are read at render; one that reads undefined is left out", () => {
  const r = new MetricsRegistry()
  let cpu = 1.5
  r.observed("process_cpu_seconds_total", "CPU", "counter", () => cpu)
  r.observed("process_open_fds", "Fds", "gauge", () => undefined)
  expect(r.render()).toBe(
    "# HELP process_cpu_seconds_total CPU\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n",
  )
  cpu = 2
  expect(r.value("process_cpu_seconds_total")).toBe(2)
})
