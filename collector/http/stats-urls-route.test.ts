import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import type { UrlOutcome, UrlReason } from "../../shared/protocol/urls/result.ts"
import type { UrlStats } from "../kinds/urls/stats.ts"
import { at, minuteMs, openKindDb, result, rowsOf } from "../kinds/urls/test-helpers.ts"
import { openQueryPool, type QueryPool } from "../sinks/duckdb/query-pool.ts"
import { createStatsUrlsRoute, statsCsv } from "./stats-urls-route.ts"

type Step = [minute: number, outcome: UrlOutcome, total_ms: number, reason?: UrlReason]

// Agent a: up x4, degraded, down x3 (up -> down at minute 6), up x2 (down -> up at minute 9); one old down.
const A: Step[] = [
  [-120, "down", 9000, "timeout"],
  [0, "up", 10],
  [1, "up", 20],
  [2, "up", 30],
  [3, "up", 40],
  [4, "degraded", 200, "slow"],
  [5, "down", 10000, "timeout"],
  [6, "down", 10000, "timeout"],
  [7, "down", 3, "refused"],
  [8, "up", 50],
  [9, "up", 60],
]
// Agent b: up x2, down x3 (dns) while a is still up: b's network.
const B: Step[] = [
  [0, "up", 100],
  [1, "up", 100],
  [2, "down", 5, "dns"],
  [3, "down", 5, "dns"],
  [4, "down", 5, "dns"],
]
const steps = (s: Step[]) =>
  s.map(([m, outcome, total_ms, reason], i) =>
    result(m, outcome, { id: i + 1, total_ms, reason: reason ?? null }),
  )

describe("GET /stats/urls", () => {
  let db: Awaited<ReturnType<typeof openKindDb>>
  let pool: QueryPool
  const route = createStatsUrlsRoute(
    () => pool,
    () => new Response("starting", { status: 503 }),
    () => minuteMs(10),
  )
  const get = (query: string) => route.handle(new Request(`http://localhost/stats/urls${query}`))
  const stats = async (query: string) => (await (await get(query)).json()) as UrlStats

  beforeAll(async () => {
    db = await openKindDb()
    const api = [0, 1, 2].map((m) => result(m, "up", { id: 100 + m, check: "api", url: "https://api.test/" }))
    await db.write([...rowsOf("a", [...steps(A), ...api]), ...rowsOf("b", steps(B))])
    pool = await openQueryPool(db.instance, {
      maxConcurrent: 2,
      maxQueued: 4,
      timeoutMs: 5000,
      maxResultBytes: 1024 * 1024,
      maxQueryChars: 10_000,
    })
  })
  afterAll(async () => {
    await pool.close()
    await db[Symbol.asyncDispose]()
  })

  test("per check and per agent: uptime, percentiles, failures, streak, last change", async () => {
    const res = await get("?hours=1")
    expect(res.status).toBe(200)
    const body = (await res.json()) as UrlStats
    expect(body.hours).toBe(1)
    expect(body.from).toBe(at(-50))
    expect(body.to).toBe(at(10))
    expect(body.checks.map((c) => c.check)).toEqual(["api", "home"])
    const home = body.checks[1] as UrlStats["checks"][number]
    expect({ ...home, agents: undefined }).toEqual({
      check: "home",
      url: "https://example.test/",
      checks: 15,
      up: 8,
      degraded: 1,
      down: 6,
      uptime_pct: 60,
      degraded_pct: 6.667,
      // up and degraded: 10 20 30 40 50 60 100 100 200
      latency_ms: { p50: 50, p95: 160, p99: 192 },
      failures: { dns: 3, refused: 1, slow: 1, timeout: 2 },
      last_outcome: "up",
      last_at: at(9),
      streak: 2,
      state: "up",
      last_change: {
        at: at(9),
        from: "down",
        to: "up",
        reason: null,
        consecutive: 2,
        scope: "site",
        detail: "up from 1 of 2 agents",
      },
      agents: undefined,
    })
    const [a, b] = home.agents
    expect(a).toMatchObject({
      agent: "a",
      host: "a.host",
      checks: 10,
      uptime_pct: 70,
      degraded_pct: 10,
      // 10 20 30 40 50 60 200
      latency_ms: { p50: 40, p95: 158, p99: 191.6 },
      failures: { refused: 1, slow: 1, timeout: 2 },
      streak: 2,
      state: "up",
      last_change: { at: at(9), from: "down", to: "up", scope: "agent", detail: "up from 1 of 2 agents" },
    })
    expect(b).toEqual({
      agent: "b",
      host: "b.host",
      url: "https://example.test/",
      checks: 5,
      up: 2,
      degraded: 0,
      down: 3,
      uptime_pct: 40,
      degraded_pct: 0,
      latency_ms: { p50: 100, p95: 100, p99: 100 },
      failures: { dns: 3 },
      last_outcome: "down",
      last_at: at(4),
      streak: 3,
      state: "down",
      last_change: {
        at: at(4),
        from: "up",
        to: "down",
        reason: "dns",
        consecutive: 3,
        scope: "agent",
        detail: "down from 1 of 2 agents: that agent's network or host",
      },
    })
  })

  test("hours widens the window; check and agent narrow it", async () => {
    const wide = await stats("?hours=3&check=home")
    expect(wide.checks).toHaveLength(1)
    expect(wide.checks[0]).toMatchObject({ checks: 16, down: 7, failures: { timeout: 3 } })
    const b = await stats("?agent=b")
    expect(b.checks.map((c) => c.check)).toEqual(["home"])
    expect(b.checks[0]).toMatchObject({ checks: 5, uptime_pct: 40, state: "up", streak: 3 })
    expect(b.checks[0]?.agents.map((x) => x.agent)).toEqual(["b"])
    expect((await stats("?check=nothing")).checks).toEqual([])
    expect((await stats("?check=it's")).checks).toEqual([])
  })

  test("format=csv: a header row, then each check and its agents", async () => {
    const res = await get("?agent=b&format=csv")
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8")
    expect((await res.text()).split("\r\n")).toEqual([
      "check,agent,host,url,checks,up,degraded,down,uptime_pct,degraded_pct,p50_ms,p95_ms,p99_ms,failures,last_outcome,last_at,streak,state,last_change_at,last_change_from,last_change_to,last_change_detail",
      `home,,,https://example.test/,5,2,0,3,40,0,100,100,100,dns=3,down,${at(4)},3,up,${at(9)},down,up,up from 1 of 2 agents`,
      `home,b,b.host,https://example.test/,5,2,0,3,40,0,100,100,100,dns=3,down,${at(4)},3,down,${at(4)},up,down,down from 1 of 2 agents: that agent's network or host`,
      "",
    ])
    // Fields with a comma, a quote or a line break are quoted.
    const quoted = await stats("?agent=b")
    quoted.checks = quoted.checks.map((c) => ({ ...c, check: 'say "hi", now' }))
    expect(statsCsv(quoted).split("\r\n")[1]).toStartWith('"say ""hi"", now",,,')
  })

  test.each([
    ["?hours=0", "hours"],
    ["?hours=8761", "hours"],
    ["?hours=abc", "hours"],
    ["?hours=1.5", "hours"],
    ["?hours=", "hours"],
    ["?hours=1&hours=2", "hours"],
    ["?format=xml", "format"],
    ["?check=", "check"],
    ["?agent=a%00b", "agent"],
    ["?hour=24", "hour"],
  ])("%s is a 400 naming %s", async (query, parameter) => {
    const res = await get(query)
    expect(res.status).toBe(400)
    expect(res.headers.get("content-type")).toBe("application/json")
    const body = (await res.json()) as { error: string; parameter: string }
    expect(body.parameter).toBe(parameter)
    expect(body.error).toContain(parameter)
  })

  test("before DuckDB is open: notReady", async () => {
    const starting = createStatsUrlsRoute(
      () => undefined,
      () => new Response("starting", { status: 503 }),
    )
    const res = await starting.handle(new Request("http://localhost/stats/urls"))
    expect(res.status).toBe(503)
  })
})
