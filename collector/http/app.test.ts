import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { join } from "node:path"
import { tempDir } from "../../test/harness/index.ts"
import { createCollectorMetrics } from "../metrics/collector-metrics.ts"
import { openQueryPool, type QueryPool } from "../sinks/duckdb/query-pool.ts"
import { DuckDbWriter } from "../sinks/duckdb/writer.ts"
import type { HttpAccess } from "./access.ts"
import { createHttpApp, type HttpDeps } from "./app.ts"

setDefaultTimeout(60_000)

const TOKEN = "test-token-0123456789"
const PORT = 4480

describe("HTTP app", () => {
  const dir = tempDir()
  let writer: DuckDbWriter
  let queries: QueryPool
  let open: ReturnType<typeof createHttpApp>
  let guarded: ReturnType<typeof createHttpApp>

  const app = (access: Partial<HttpAccess>, more: Partial<HttpDeps> = {}) =>
    createHttpApp({
      queries: () => queries,
      access: { token: null, bindHost: "127.0.0.1", allowedHosts: [], port: PORT, ...access },
      metrics: createCollectorMetrics(),
      problems: () => [],
      quarantine: async () => null,
      consumerLag: async () => ({ pending: 0, ackPending: 0 }),
      startedAt: Date.now(),
      ...more,
    })
  const get = (
    target: ReturnType<typeof createHttpApp>,
    path: string,
    headers: Record<string, string> = {},
    host = `localhost:${PORT}`,
  ) => target.handle(new Request(`http://${host}${path}`, { headers }))
  const sql = (q: string, extra = "") => `/sql?q=${encodeURIComponent(q)}${extra}`
  const bearer = { authorization: `Bearer ${TOKEN}` }

  beforeAll(async () => {
    writer = await DuckDbWriter.open(join(dir.path, "h.duckdb"))
    queries = await openQueryPool(writer.instance, {
      maxConcurrent: 2,
      maxQueued: 2,
      timeoutMs: 1000,
      maxResultBytes: 1024 * 1024,
      maxQueryChars: 1000,
    })
    open = app({})
    guarded = app({ token: TOKEN })
  })
  afterAll(async () => {
    await queries.close()
    await writer.close()
    await dir[Symbol.asyncDispose]()
  })

  test("/sql answers rows and says whether they were cut", async () => {
    const res = await get(open, sql("SELECT * FROM range(3) t(i)"))
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toContain("application/json")
    expect(await res.json()).toEqual({ rows: [{ i: 0 }, { i: 1 }, { i: 2 }], truncated: false })
    const cut = await get(open, sql("SELECT * FROM range(3000) t(i) --", "&limit=2"))
    expect(await cut.json()).toEqual({
      rows: [{ i: 0 }, { i: 1 }],
      truncated: true,
      truncated_reason: "rows",
    })
    const big = await get(open, sql("SELECT repeat('x', 2000000) AS s"))
    expect(await big.json()).toEqual({ rows: [], truncated: true, truncated_reason: "bytes" })
  })

  test.each([
    "INSERT INTO outpost_meta VALUES ('a', 'b')",
    "ATTACH ':memory:' AS m",
    "SELECT 1; SELECT 2",
    "COPY envelopes TO 'x.csv'",
    "SET threads = 1",
    "PRAGMA version",
    "SELEC nonsense",
    "FROM '/etc/hostname'",
  ])("/sql refuses %p with a 400 JSON error", async (q) => {
    const res = await get(open, sql(q))
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: string }).error.length).toBeGreaterThan(0)
  })

  test("/sql without q, with a bad limit or an overlong q is a 400", async () => {
    expect((await get(open, "/sql")).status).toBe(400)
    expect((await get(open, sql("SELECT 1", "&limit=0"))).status).toBe(400)
    expect((await get(open, sql("SELECT 1", "&limit=100001"))).status).toBe(400)
    const long = await get(open, sql(`SELECT '${"x".repeat(1000)}'`))
    expect(long.status).toBe(400)
    expect(((await long.json()) as { error: string }).error).toContain("sql.max_query_chars")
  })

  test("a query past sql.timeout_ms is a 504 and the next one works", async () => {
    const res = await get(open, sql("SELECT sum(hash(i)) FROM range(4000000000) t(i)"))
    expect(res.status).toBe(504)
    expect(((await res.json()) as { code: string }).code).toBe("timeout")
    expect((await get(open, sql("SELECT 1 AS n"))).status).toBe(200)
  })

  test("with a token: data endpoints need it (401), a wrong one is refused, /health stays open", async () => {
    for (const path of [sql("SELECT 1"), "/status", "/metrics", "/nowhere"]) {
      const res = await get(guarded, path)
      expect(res.status).toBe(401)
      expect(res.headers.get("www-authenticate")).toContain("Bearer")
      expect(((await res.json()) as { error: string }).error).toContain("bearer token")
      expect((await get(guarded, path, { authorization: "Bearer wrong-token-0123456789" })).status).toBe(401)
    }
    expect((await get(guarded, "/health")).status).toBe(200)
    expect((await get(guarded, sql("SELECT 1"), bearer)).status).toBe(200)
    expect((await get(guarded, "/metrics", bearer)).status).toBe(200)
    const status = await get(guarded, "/status", bearer)
    expect(status.status).toBe(200)
    expect(await status.json()).toMatchObject({ agents: [], rejected: [] })
  })

  test("a Host that is not ours is a 403, with or without the token (DNS rebinding)", async () => {
    for (const host of ["evil.example:4480", "localhost:4481", "attacker.example"]) {
      for (const [target, headers] of [
        [open, {}],
        [guarded, bearer],
      ] as const) {
        const res = await get(target, "/status", headers, host)
        expect(res.status).toBe(403)
        expect(await res.json()).toEqual({ error: "host not allowed" })
      }
    }
    expect((await get(open, "/status", {}, `127.0.0.1:${PORT}`)).status).toBe(200)
    expect((await get(open, "/status", {}, `[::1]:${PORT}`)).status).toBe(200)
    expect((await get(open, "/health", {}, "evil.example")).status).toBe(200)
  })

  test("a cross-origin browser request is a 403; same-origin passes", async () => {
    const cross = await get(open, sql("SELECT 1"), { origin: "http://evil.example" })
    expect(cross.status).toBe(403)
    expect(await cross.json()).toEqual({ error: "origin not allowed" })
    expect((await get(open, sql("SELECT 1"), { origin: "null" })).status).toBe(403)
    expect((await get(open, sql("SELECT 1"), { origin: `http://localhost:${PORT}` })).status).toBe(200)
  })

  test("allowed_hosts admits a proxy's name", async () => {
    const proxied = app({ token: TOKEN, allowedHosts: ["collector.example.net"] })
    const res = await get(
      proxied,
      "/status",
      { ...bearer, origin: "https://collector.example.net" },
      "collector.example.net",
    )
    expect(res.status).toBe(200)
  })

  test("while DuckDB opens, /health, /status and /sql answer 503 with the reason; /metrics answers", async () => {
    const starting = app(
      {},
      { queries: () => undefined, problems: () => ["duckdb: opening /data/outpost.duckdb"] },
    )
    const health = await get(starting, "/health")
    expect(health.status).toBe(503)
    expect(await health.json()).toEqual({
      status: "degraded",
      problems: ["duckdb: opening /data/outpost.duckdb"],
    })
    for (const path of ["/status", sql("SELECT 1")]) {
      const res = await get(starting, path)
      expect(res.status).toBe(503)
      expect(res.headers.get("retry-after")).toBe("1")
      expect(await res.json()).toEqual({
        error: "the collector is starting",
        problems: ["duckdb: opening /data/outpost.duckdb"],
      })
    }
    expect((await get(starting, "/metrics")).status).toBe(200)
  })

  test("requests are timed by route template and status class, refusals and unknown paths included", async () => {
    const metrics = createCollectorMetrics()
    const timed = app({ token: TOKEN }, { metrics })
    await get(timed, "/health")
    await get(timed, "/metrics", bearer)
    await get(timed, sql("SELECT 1"), bearer)
    await get(timed, sql("SELECT 1"))
    await get(timed, "/nowhere/12345", bearer)
    await get(timed, "/status/../x", bearer)
    const name = "outpost_collector_http_request_duration_seconds"
    expect(metrics.registry.labelSets(name).sort()).toEqual([
      '{route="/health",status_class="2xx"}',
      '{route="/metrics",status_class="2xx"}',
      '{route="/sql",status_class="2xx"}',
      '{route="/sql",status_class="4xx"}',
      '{route="other",status_class="4xx"}',
    ])
    expect(metrics.registry.observations(name, { route: "other", status_class: "4xx" }).count).toBe(2)
  })
})
