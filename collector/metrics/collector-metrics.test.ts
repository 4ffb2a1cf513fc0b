import { describe, expect, test } from "bun:test"
import { VERSION } from "../../shared/version.ts"
import { PROMTOOL, promtool, recordingLogger, warnIfNoPromtool } from "../../test/harness/index.ts"
import { QUARANTINE_REASONS } from "../ingest/quarantine.ts"
import { AGENT_LAST_ENVELOPE, AGENT_RECORDS } from "./agent-series.ts"
import { createCollectorMetrics, httpRouteLabel, REJECT_REASONS, statusClass } from "./collector-metrics.ts"
import { createProgressLog } from "./progress-log.ts"

warnIfNoPromtool("promtool check metrics on the collector's metrics")

describe("collector metrics", () => {
  test("every reject reason and every other label value known in advance is exported at 0", () => {
    const text = createCollectorMetrics().registry.render()
    for (const reason of REJECT_REASONS)
      expect(text).toContain(`outpost_collector_envelopes_rejected_total{reason="${reason}"} 0\n`)
    for (const reason of QUARANTINE_REASONS) {
      expect(text).toContain(`outpost_collector_envelopes_quarantined_total{reason="${reason}"} 0\n`)
      expect(text).toContain(`outpost_collector_quarantine_refused_total{reason="${reason}"} 0\n`)
    }
    for (const what of ["stream", "consumer", "quarantine"])
      expect(text).toContain(`outpost_collector_nats_recreated_total{what="${what}"} 0\n`)
    for (const table of ["log_lines", "processing_errors"])
      expect(text).toContain(`outpost_collector_rows_written_total{table="${table}"} 0\n`)
    for (const line of [
      `outpost_collector_build_info{version="${VERSION}"} 1`,
      "outpost_collector_envelopes_received_total 0",
      "outpost_collector_envelopes_accepted_total 0",
      "outpost_collector_envelopes_duplicate_total 0",
      'outpost_collector_flush_duration_seconds_bucket{le="+Inf"} 0',
      "outpost_collector_flush_duration_seconds_count 0",
      "outpost_collector_nats_connected 0",
      "outpost_collector_nats_reconnects_total 0",
      "outpost_collector_storage_writable 1",
      "# TYPE process_cpu_seconds_total counter",
      "# TYPE process_resident_memory_bytes gauge",
    ])
      expect(text).toContain(`${line}\n`)
    // Replaced by the flush histogram (its _sum and _count).
    expect(text).not.toContain("outpost_collector_last_flush_seconds")
    expect(text).not.toContain("outpost_collector_flushes_total")
  })

  test("per-agent series exist for enrolled agents only, and go when an agent is no longer enrolled", () => {
    const m = createCollectorMetrics()
    m.agents.enrolled(["edge-1", "edge-2"])
    m.agents.envelope("edge-1", 3, 1_700_000_000_000)
    m.agents.envelope("edge-1", 2, 1_700_000_005_000)
    m.agents.envelope("intruder", 1000, 1_700_000_000_000)
    m.agents.restore("edge-1", 1_600_000_000) // older than what arrived: ignored
    m.agents.restore("edge-2", 1_690_000_000)
    m.agents.restore("ghost", 1_690_000_000)
    const r = m.registry
    expect(r.labelSets(AGENT_RECORDS)).toEqual(['{agent="edge-1"}', '{agent="edge-2"}'])
    expect(r.value(AGENT_RECORDS, { agent: "edge-1" })).toBe(5)
    expect(r.value(AGENT_RECORDS, { agent: "edge-2" })).toBe(0)
    expect(r.labelSets(AGENT_LAST_ENVELOPE)).toEqual(['{agent="edge-1"}', '{agent="edge-2"}'])
    expect(r.value(AGENT_LAST_ENVELOPE, { agent: "edge-1" })).toBe(1_700_000_005)
    expect(r.value(AGENT_LAST_ENVELOPE, { agent: "edge-2" })).toBe(1_690_000_000)
    expect(r.render()).not.toContain("intruder")

    m.agents.enrolled(["edge-2", "edge-3"])
    expect(r.labelSets(AGENT_RECORDS)).toEqual(['{agent="edge-2"}', '{agent="edge-3"}'])
    expect(r.labelSets(AGENT_LAST_ENVELOPE)).toEqual(['{agent="edge-2"}'])
    m.agents.envelope("edge-1", 1, 1_700_000_010_000)
    expect(r.render()).not.toContain('agent="edge-1"')
  })

  test("HTTP labels are bounded: route templates and status classes", () => {
    expect(["/health", "/status", "/metrics", "/sql", "/sql/x", "/", "/../etc"].map(httpRouteLabel)).toEqual([
      "/health",
      "/status",
      "/metrics",
      "/sql",
      "other",
      "other",
      "other",
    ])
    expect([200, 204, 401, 499, 503].map(statusClass)).toEqual(["2xx", "2xx", "4xx", "4xx", "5xx"])
  })

  test.skipIf(!PROMTOOL)(
    "promtool check metrics finds no problem, with every kind of series present",
    async () => {
      const m = createCollectorMetrics()
      m.agents.enrolled(["edge-1"])
      m.agents.envelope("edge-1", 1, Date.now())
      m.httpRequestDuration(0.002, { route: "/metrics", status_class: "2xx" })
      m.flushDuration(0.01)
      m.envelopesRejected(1, { reason: "signature" })
      m.consumerPending(3)
      const result = await promtool(["check", "metrics"], m.registry.render())
      expect(result).toEqual({ code: 0, output: "" })
    },
  )

  test("the progress line is written only when something changed: an idle collector is quiet", () => {
    const m = createCollectorMetrics()
    const log = recordingLogger()
    const progress = createProgressLog(m, log)
    for (let i = 0; i < 5; i++) progress.tick()
    expect(log.messages).toEqual([])
    m.envelopesAccepted(2)
    m.rowsWritten(7, { table: "log_lines" })
    progress.tick()
    progress.tick()
    expect(log.lines.map((l) => [l.level, l.message])).toEqual([
      ["info", "written 7 lines from 2 envelopes; rejected 0, quarantined 0, duplicates 0, failed writes 0"],
    ])
  })
})
