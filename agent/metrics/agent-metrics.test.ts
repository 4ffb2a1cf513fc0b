import { describe, expect, test } from "bun:test"
import { VERSION } from "../../shared/version.ts"
import { PROMTOOL, promtool, warnIfNoPromtool } from "../../test/harness/index.ts"
import type { FileStatus } from "../sources/source.ts"
import type { UrlCheckStatus } from "../sources/urls/index.ts"
import { createAgentMetrics } from "./agent-metrics.ts"

warnIfNoPromtool("the check of the agent's /metrics text")

const file = (source: string, path: string, behind: number, gen = "g"): FileStatus => ({
  source,
  path,
  gen,
  state: "active",
  position: 100,
  acked: 100,
  size: 100 + behind,
  behind,
})

const idle = { files: [], queuedBytes: 0, inFlight: 0 }

/** `name{labels} value` lines of one metric. */
const samples = (text: string, name: string) =>
  text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))

describe("agent metrics", () => {
  test("every counter is there at 0 before its first event, per configured source where it has one", () => {
    const text = createAgentMetrics(["web", "app"]).render(idle)
    const counters = text
      .split("\n")
      .filter((l) => l.startsWith("# TYPE ") && l.endsWith(" counter"))
      .map((l) => l.split(" ")[2] as string)
      .filter((name) => !name.startsWith("process_")) // the standard ones, read at each scrape
    expect(counters.length).toBeGreaterThanOrEqual(8)
    for (const name of counters) {
      expect(name).toMatch(/^outpost_agent_[a-z_]+_total$/)
      const lines = samples(text, name)
      expect(lines.length).toBeGreaterThan(0)
      for (const line of lines) expect(line).toEndWith(" 0")
    }
    expect(samples(text, "outpost_agent_read_bytes_total")).toEqual([
      'outpost_agent_read_bytes_total{source="web"} 0',
      'outpost_agent_read_bytes_total{source="app"} 0',
    ])
    expect(samples(text, "outpost_agent_build_info")).toEqual([
      `outpost_agent_build_info{version="${VERSION}"} 1`,
    ])
    expect(samples(text, "outpost_agent_files_watched")).toEqual([
      'outpost_agent_files_watched{source="web"} 0',
      'outpost_agent_files_watched{source="app"} 0',
    ])
    // the publish latency histogram has its series before the first publish
    expect(samples(text, "outpost_agent_publish_duration_seconds_count")).toEqual([
      "outpost_agent_publish_duration_seconds_count 0",
    ])
    expect(text).toContain("# TYPE process_resident_memory_bytes gauge")
  })

  test("bytes behind has a series per live file only; a path read twice (rotated + new) is one series", () => {
    const m = createAgentMetrics(["web"])
    const first = m.render({
      files: [file("web", "/a.log", 10, "g1"), file("web", "/a.log", 5, "g2"), file("web", "/b.log", 0)],
      queuedBytes: 2048,
      inFlight: 2,
    })
    expect(samples(first, "outpost_agent_file_behind_bytes")).toEqual([
      'outpost_agent_file_behind_bytes{source="web",path="/a.log"} 15',
      'outpost_agent_file_behind_bytes{source="web",path="/b.log"} 0',
    ])
    expect(samples(first, "outpost_agent_files_watched")).toEqual([
      'outpost_agent_files_watched{source="web"} 3',
    ])
    expect(samples(first, "outpost_agent_queued_bytes")).toEqual(["outpost_agent_queued_bytes 2048"])
    const later = m.render({ files: [file("web", "/b.log", 7)], queuedBytes: 0, inFlight: 0 })
    expect(samples(later, "outpost_agent_file_behind_bytes")).toEqual([
      'outpost_agent_file_behind_bytes{source="web",path="/b.log"} 7',
    ])
  })

  test("events count per source; publish latency is a histogram in seconds", () => {
    const m = createAgentMetrics(["web"])
    m.bytesRead(100, "web")
    m.linesRead(3, "web")
    m.linesShipped(3, "web")
    m.envelopesPublished()
    m.publishSeconds(0.02)
    m.natsConnected(1)
    expect(m.registry.value("outpost_agent_read_bytes_total", { source: "web" })).toBe(100)
    expect(m.registry.value("outpost_agent_lines_shipped_total", { source: "web" })).toBe(3)
    expect(m.registry.observations("outpost_agent_publish_duration_seconds")).toEqual({ count: 1, sum: 0.02 })
    const text = m.render(idle)
    expect(text).toContain('outpost_agent_publish_duration_seconds_bucket{le="0.025"} 1')
    expect(text).toContain("outpost_agent_nats_connected 1")
  })

  test.skipIf(!PROMTOOL)("promtool check metrics finds nothing to complain about", async () => {
    const m = createAgentMetrics(["web", 'odd "name"'])
    m.publishSeconds(0.3)
    m.publishRetries()
    const text = m.render({
      files: [file("web", '/var/log/we"ird\\path.log', 10)],
      queuedBytes: 1,
      inFlight: 1,
    })
    const { code, output } = await promtool(["check", "metrics"], text)
    expect(output).toBe("")
    expect(code).toBe(0)
  })

  test("URL checks and the outbox: series at 0 per check before a run; counters follow the stats they read", () => {
    const m = createAgentMetrics([], ["a", "b"])
    const before = m.render(idle)
    for (const check of ["a", "b"])
      for (const outcome of ["up", "degraded", "down"])
        expect(before).toContain(`outpost_agent_url_results_total{check="${check}",outcome="${outcome}"} 0`)
    expect(before).toContain('outpost_agent_entries_published_total{kind="urls"} 0')
    expect(before).not.toContain("outpost_agent_url_check_outcome{") // no outcome before the first result

    m.urls?.result("a", "down")
    m.urls?.started(30)
    const check = { name: "a", outcome: "down", total_ms: 250, skips: 2 } as UrlCheckStatus
    const gauges = (droppedSinceOpen: number, entries: number, skips = 2) => ({
      ...idle,
      urls: { checks: [{ ...check, skips }] },
      outbox: {
        outbox: {
          entries: 5,
          bytes: 900,
          dropped: { urls: 3 },
          droppedSinceOpen,
          oldestAt: Date.now() - 4000,
        },
        transports: {
          urls: {
            envelopes: 1,
            entries,
            bytes: 1,
            retries: 0,
            dropped_reported: 0,
            duplicateFirstPublish: 0,
          },
        },
      },
    })
    m.render(gauges(3, 10))
    const text = m.render(gauges(7, 12, 5)) // a second scrape adds only what changed
    const value = (sample: string) =>
      Number(
        text
          .split("\n")
          .find((l) => l.startsWith(`${sample} `))
          ?.split(" ")[1],
      )
    expect(value('outpost_agent_url_results_total{check="a",outcome="down"}')).toBe(1)
    expect(value('outpost_agent_url_check_outcome{check="a",outcome="down"}')).toBe(1)
    expect(value('outpost_agent_url_check_outcome{check="a",outcome="up"}')).toBe(0)
    expect(value('outpost_agent_url_check_duration_seconds{check="a"}')).toBe(0.25)
    expect(value('outpost_agent_url_check_skipped_runs_total{check="a"}')).toBe(5)
    expect(value('outpost_agent_url_check_schedule_drift_seconds_bucket{le="0.05"}')).toBe(1)
    expect(value('outpost_agent_url_check_schedule_drift_seconds_bucket{le="0.025"}')).toBe(0)
    expect(value("outpost_agent_outbox_entries")).toBe(5)
    expect(value("outpost_agent_outbox_bytes")).toBe(900)
    expect(value("outpost_agent_outbox_oldest_entry_age_seconds")).toBeGreaterThanOrEqual(4)
    expect(value("outpost_agent_outbox_dropped_entries_total")).toBe(7)
    expect(value('outpost_agent_outbox_unreported_dropped_entries{kind="urls"}')).toBe(3)
    expect(value('outpost_agent_entries_published_total{kind="urls"}')).toBe(12)
  })

  test("an agent without URL checks shows no URL or outbox series", () => {
    const text = createAgentMetrics(["web"]).render(idle)
    expect(text).not.toContain("outpost_agent_url_")
    expect(text).not.toContain("outpost_agent_outbox_")
  })
})
