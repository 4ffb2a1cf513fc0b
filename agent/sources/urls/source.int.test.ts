import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { ConfigError } from "../../../shared/errors.ts"
import { checkUrlResult } from "../../../shared/protocol/urls/result.ts"
import { freePort, recordingLogger, waitFor } from "../../../test/harness/index.ts"
import type { UrlResultDraft } from "./check.ts"
import { jitterOffset, type RunRecord } from "./schedule.ts"
import type { UrlCheckConfig } from "./schema.ts"
import { createUrlsSource, type UrlsSourceOptions } from "./source.ts"
import { hangingServer, testCheck } from "./test-support.ts"

setDefaultTimeout(60_000)

let server: ReturnType<typeof Bun.serve>
let hanging: Awaited<ReturnType<typeof hangingServer>>
let flips = 0

beforeAll(async () => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      // the content changes between runs: "ready" on even requests only
      if (new URL(req.url).pathname === "/flip") return new Response(flips++ % 2 === 0 ? "ready" : "busy")
      return new Response("fine")
    },
  })
  hanging = await hangingServer()
})

afterAll(async () => {
  server.stop(true)
  await hanging.close()
})

const url = (path: string) => `http://127.0.0.1:${server.port}${path}`

/** Runs a source until `until` holds (or for `ms`), then stops it; returns what it appended and logged. */
async function runSource(
  checks: UrlCheckConfig[],
  options: Partial<UrlsSourceOptions> & { ms?: number; until?: (results: UrlResultDraft[]) => boolean } = {},
) {
  const results: UrlResultDraft[] = []
  const starts: RunRecord[] = []
  const logger = recordingLogger("agent")
  const source = createUrlsSource({
    checks,
    agentId: "edge-1",
    logger,
    append: (rs) => results.push(...rs),
    onStart: (r) => starts.push(r),
    ...options,
  })
  const stop = new AbortController()
  const done = source.run(stop.signal)
  if (options.until) await waitFor("results", () => options.until?.(results) ?? true, 20_000)
  else await Bun.sleep(options.ms ?? 500)
  const status = source.status()
  stop.abort()
  await done
  return { results, starts, logger, status, source }
}

describe("urls source", () => {
  test("appends valid results; a change of outcome is logged once, not every result", async () => {
    const checks = [
      testCheck({
        name: "flip",
        url: url("/flip"),
        period_s: 0.15,
        timeout_s: 0.1,
        body_contains: ["ready"],
      }),
      testCheck({
        name: "closed",
        url: `http://127.0.0.1:${await freePort()}/`,
        period_s: 0.15,
        timeout_s: 0.1,
      }),
    ]
    const { results, logger, status } = await runSource(checks, {
      until: (rs) => rs.filter((r) => r.check === "flip").length >= 4 && rs.some((r) => r.check === "closed"),
    })
    for (const r of results) expect(checkUrlResult({ ...r, id: 1 })).toBeUndefined()
    const flip = results.filter((r) => r.check === "flip")
    // the content changed between runs: up, down (body), up, down...
    expect(flip.slice(0, 4).map((r) => `${r.outcome}/${r.reason}`)).toEqual([
      "up/null",
      "down/body",
      "up/null",
      "down/body",
    ])
    const flipLog = logger.lines.filter((l) => l.component === "urls[flip]")
    expect(flipLog.slice(0, 4).map((l) => `${l.level} ${l.message}`)).toEqual([
      "debug up",
      'warn down (body): body does not contain "ready", was up',
      "info up again after 1 result(s) down",
      'warn down (body): body does not contain "ready", was up',
    ])
    const closed = results.filter((r) => r.check === "closed")
    expect(closed.every((r) => r.reason === "refused")).toBe(true)
    // refused every time, logged once
    expect(logger.lines.filter((l) => l.component === "urls[closed]").map((l) => l.level)).toEqual(["warn"])
    const s = status.checks.find((c) => c.name === "closed")
    expect(s).toMatchObject({ outcome: "down", reason: "refused", type: "http", period_s: 0.15 })
    expect(s?.streak).toBeGreaterThanOrEqual(1)
    expect(s?.next_run_at).toBeGreaterThan(s?.last_run_at ?? Number.POSITIVE_INFINITY)
  })

  test("first runs are spread over the period, deterministically per check and agent", async () => {
    const checks = Array.from({ length: 8 }, (_, i) =>
      testCheck({ name: `c${i}`, url: url("/"), period_s: 1, timeout_s: 0.5 }),
    )
    const { starts } = await runSource(checks, { ms: 1050 })
    const firsts = checks.map((c) => starts.find((s) => s.key === c.name)?.scheduledAt ?? Number.NaN)
    const origin = Math.min(...firsts)
    const offsets = firsts.map((f) => f - origin)
    expect(offsets.every((o) => o >= 0 && o < 1000)).toBe(true)
    expect(Math.max(...offsets)).toBeGreaterThan(300)
    expect(new Set(offsets.map((o) => Math.round(o))).size).toBe(8)
  })

  test("checks for other agents are not run", async () => {
    const checks = [
      testCheck({ name: "here", url: url("/"), period_s: 0.2, timeout_s: 0.1, agents: ["edge-1", "edge-2"] }),
      testCheck({ name: "there", url: url("/"), period_s: 0.2, timeout_s: 0.1, agents: ["edge-9"] }),
    ]
    const { results, status } = await runSource(checks, { until: (rs) => rs.length >= 2 })
    expect(new Set(results.map((r) => r.check))).toEqual(new Set(["here"]))
    expect(status.checks.map((c) => c.name)).toEqual(["here"])
    expect(status.other_agents).toEqual(["there"])
  })

  test("a hanging URL does not delay another check beyond the concurrency bound", async () => {
    const checks = [
      testCheck({ name: "hangs", url: hanging.url, period_s: 0.6, timeout_s: 0.5 }),
      testCheck({ name: "steady", url: url("/"), period_s: 0.2, timeout_s: 0.1 }),
    ]
    const { results, starts, status } = await runSource(checks, { concurrency: 2, ms: 1500 })
    const steady = starts.filter((s) => s.key === "steady")
    expect(steady.length).toBeGreaterThanOrEqual(6)
    for (const s of steady) expect(s.startedAt - s.scheduledAt).toBeLessThan(50)
    expect(results.filter((r) => r.check === "hangs").every((r) => r.reason === "timeout")).toBe(true)
    expect(results.some((r) => r.check === "hangs")).toBe(true)
    expect(status.checks.find((c) => c.name === "steady")?.skips).toBe(0)
  })

  test("with one place and a hanging URL, the other check's slots are skipped and counted", async () => {
    const checks = [
      testCheck({ name: "hangs", url: hanging.url, period_s: 0.6, timeout_s: 0.5 }),
      testCheck({ name: "steady", url: url("/"), period_s: 0.2, timeout_s: 0.1 }),
    ]
    const { status } = await runSource(checks, { concurrency: 1, ms: 1500 })
    const steady = status.checks.find((c) => c.name === "steady")
    expect(steady?.skips).toBeGreaterThan(0)
    expect(steady?.max_drift_ms).toBeGreaterThan(50)
  })

  test("stopping while a check hangs: run() resolves at once and nothing more is appended", async () => {
    // a name whose first run comes early in its 10 s period
    const name = Array.from({ length: 100 }, (_, i) => `hangs-${i}`).find(
      (n) => jitterOffset(`${n}\0edge-1`, 10_000) < 200,
    ) as string
    const checks = [testCheck({ name, url: hanging.url, period_s: 10, timeout_s: 5 })]
    const before = hanging.connections()
    const results: UrlResultDraft[] = []
    const source = createUrlsSource({ checks, agentId: "edge-1", append: (rs) => results.push(...rs) })
    const stop = new AbortController()
    const done = source.run(stop.signal)
    await waitFor("the check to connect", () => hanging.connections() > before)
    const stoppedAt = performance.now()
    stop.abort()
    await done
    expect(performance.now() - stoppedAt).toBeLessThan(200)
    expect(results).toEqual([])
  })

  test("refuses checks with problems, naming them", () => {
    const bad = [testCheck({ name: "x", url: url("/"), period_s: 1, timeout_s: 2 })]
    expect(() => createUrlsSource({ checks: bad, agentId: "edge-1", append: () => {} })).toThrow(ConfigError)
    expect(() => createUrlsSource({ checks: bad, agentId: "edge-1", append: () => {} })).toThrow(
      "urls[x].period_s: 1 s is not more than timeout_s 2 s",
    )
  })
})
