import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { join } from "node:path"
import { tempDir, waitFor } from "../../../test/harness/index.ts"
import { openQueryPool, type QueryPool, type QueryPoolOptions } from "./query-pool.ts"
import type { QueryError } from "./query-pool-error.ts"
import { nativeThreads } from "./query-pool-native.ts"
import { DuckDbWriter } from "./writer.ts"

setDefaultTimeout(60_000)

/** About 20 s of CPU on one thread here: long enough to be running whenever a test looks. */
const LONG = "SELECT sum(hash(i)) FROM range(4000000000) t(i)"

/**
 * Query slots of a pool with max_concurrent = 2 in this process: 1 under a plain `bun test` (2 native
 * threads), 2 when query-pool.int.test.ts runs this file again with UV_THREADPOOL_SIZE=4.
 */
const SLOTS = Math.min(2, nativeThreads().threads - 1)

const defaults: QueryPoolOptions = {
  maxConcurrent: 2,
  maxQueued: 4,
  timeoutMs: 30_000,
  maxResultBytes: 16 * 1024 * 1024,
  maxQueryChars: 100_000,
}

const failure = async (run: Promise<unknown>): Promise<QueryError> => {
  try {
    await run
  } catch (error) {
    return error as QueryError
  }
  throw new Error("expected the query to fail")
}

const rowsOf = (r: { rows: string[] }) => r.rows.map((row) => JSON.parse(row) as Record<string, unknown>)

describe("QueryPool", () => {
  const dir = tempDir()
  let writer: DuckDbWriter
  let pool: QueryPool
  const pools: QueryPool[] = []
  const open = async (options: Partial<QueryPoolOptions>) => {
    const p = await openQueryPool(writer.instance, { ...defaults, ...options })
    pools.push(p)
    return p
  }

  beforeAll(async () => {
    writer = await DuckDbWriter.open(join(dir.path, "q.duckdb"))
    pool = await open({})
  })
  afterAll(async () => {
    for (const p of pools) await p.close()
    await writer.close()
    await dir[Symbol.asyncDispose]()
  })

  test.each([
    ["SELECT 1 AS n", 1],
    ["SELECT 1 AS n;", 1],
    ["SELECT 1 AS n -- a trailing comment", 1],
    ["SELECT 1 AS n; -- and after the semicolon", 1],
    ["SELECT ';--' AS n /* not the end */", 1],
    ["WITH x AS (SELECT 1 AS n) SELECT * FROM x", 1],
    ["FROM envelopes", 0],
    ["VALUES (1), (2)", 2],
    ["DESCRIBE envelopes", 9],
    ["SHOW TABLES", 15],
    ["SUMMARIZE envelopes", 9],
    ["EXPLAIN SELECT 1", 1],
  ])("allowed: %s", async (sql, rows) => {
    const result = await pool.query(sql, { limit: 1000 })
    expect(result.rows.length).toBe(rows)
    expect(result.truncated).toBeNull()
  })

  test.each([
    ["INSERT", "INSERT INTO outpost_meta VALUES ('k', 'v')", "not_allowed", "q is INSERT"],
    ["UPDATE", "UPDATE outpost_meta SET value = 'x'", "not_allowed", "q is UPDATE"],
    ["DELETE", "DELETE FROM envelopes", "not_allowed", "q is DELETE"],
    ["CREATE", "CREATE TABLE t (a INT)", "not_allowed", "q is CREATE"],
    ["DROP", "DROP TABLE envelopes", "not_allowed", "q is DROP"],
    ["ATTACH", "ATTACH ':memory:' AS m", "not_allowed", "q is ATTACH"],
    ["DETACH", "DETACH m", "not_allowed", "q is DETACH"],
    ["two statements", "SELECT 1; SELECT 2", "not_allowed", "2 statements"],
    [
      "a statement after a comment line",
      "SELECT 1 --\n; DROP TABLE envelopes",
      "not_allowed",
      "2 statements",
    ],
    ["COPY", "COPY envelopes TO 'out.csv'", "invalid", "file system operations are disabled"],
    ["SET", "SET threads = 1", "not_allowed", "q is SET"],
    ["PRAGMA that binds as a query", "PRAGMA version", "not_allowed", "PRAGMA is not"],
    ["PRAGMA", "PRAGMA enable_profiling", "not_allowed", "q is PRAGMA"],
    ["CALL", "CALL checkpoint()", "not_allowed", "q is CALL"],
    ["LOAD", "LOAD json", "not_allowed", "q is LOAD"],
    [
      "a file read",
      "SELECT * FROM read_text('/etc/passwd')",
      "invalid",
      "file system operations are disabled",
    ],
    ["a write hidden in a SELECT", "SELECT * FROM force_checkpoint()", "invalid", "FORCE CHECKPOINT"],
    [
      "EXPLAIN ANALYZE (it runs what it explains)",
      "EXPLAIN ANALYZE SET GLOBAL memory_limit = '1MB'",
      "not_allowed",
      "EXPLAIN ANALYZE",
    ],
    ["EXPLAIN ANALYZE of a SELECT", "EXPLAIN ANALYZE SELECT 1", "not_allowed", "EXPLAIN ANALYZE"],
    ["EXPLAIN of a SET", "EXPLAIN SET GLOBAL threads = 1", "not_allowed", "q is SET"],
    ["EXPLAIN of a CHECKPOINT", "EXPLAIN CHECKPOINT", "not_allowed", "q is"],
    ["parameters", "SELECT $1", "not_allowed", "parameters"],
    ["nothing", "   ", "not_allowed", "empty"],
    ["only a comment", "-- nothing", "not_allowed", "no SQL statement"],
    ["a syntax error", "SELEC 1", "invalid", "syntax error"],
  ])("refused: %s", async (_name, sql, code, message) => {
    const error = await failure(pool.query(sql, { limit: 10 }))
    expect(error.code as string).toBe(code)
    expect(error.message).toContain(message)
  })

  test("a trailing -- comment cannot drop the row cap (it used to comment out the appended LIMIT)", async () => {
    const result = await pool.query("SELECT * FROM range(5000) --", { limit: 10 })
    expect(result.rows.length).toBe(10)
    expect(result.truncated).toBe("rows")
  })

  test.each([
    [2048, 2048, null],
    [2049, 2048, "rows"],
    [5, 5, null],
    [6, 5, "rows"],
  ])("%i rows with limit %i: truncated %p", async (n, limit, truncated) => {
    const result = await pool.query(`SELECT * FROM range(${n})`, { limit })
    expect(result.rows.length).toBe(Math.min(n, limit))
    expect(result.truncated).toBe(truncated as "rows" | null)
  })

  test("the byte cap cuts between rows and counts the JSON sent", async () => {
    const small = await open({ maxResultBytes: 10_000 })
    const result = await small.query("SELECT i, repeat('x', 100) AS s FROM range(1000) t(i)", { limit: 1000 })
    expect(result.truncated).toBe("bytes")
    expect(result.rows.length).toBeGreaterThan(50)
    expect(result.bytes).toBeLessThanOrEqual(10_000)
    expect(result.bytes).toBe(Buffer.byteLength(result.rows.join(",")))
    expect(rowsOf(result)[0]).toEqual({ i: 0, s: "x".repeat(100) })
  })

  test("one value larger than the byte cap is cut inside DuckDB and the result says bytes", async () => {
    const result = await pool.query("SELECT repeat('x', 100000000) AS s", { limit: 10 })
    expect(result).toEqual({ rows: [], bytes: 0, truncated: "bytes" })
  })

  test("the OOM attempt returns a truncated result and the pool keeps working", async () => {
    const result = await pool.query("SELECT repeat('x', 1000000) AS s FROM range(3000)", { limit: 100_000 })
    expect(result.truncated).toBe("bytes")
    expect(result.rows.length).toBe(16)
    expect((await pool.query("SELECT 42 AS n", { limit: 1 })).rows).toEqual(['{"n":42}'])
  })

  test("values become JSON: numbers, big integers as text, nested values as DuckDB text, names numbered", async () => {
    const result = await pool.query(
      "SELECT 1 AS a, 'x' AS a, 12345678901234567890 AS big, [1, 2] AS l, {'k': 'v'} AS st, 1.5 AS d, NULL AS n",
      { limit: 1 },
    )
    expect(rowsOf(result)).toEqual([
      { a: 1, "a:1": "x", big: "12345678901234567890", l: "[1, 2]", st: "{'k': v}", d: "1.5", n: null },
    ])
  })

  test("a query running longer than timeout_ms is interrupted in about that time; the next one works", async () => {
    const quick = await open({ timeoutMs: 1000 })
    const started = performance.now()
    const error = await failure(quick.query(LONG, { limit: 1 }))
    const took = performance.now() - started
    expect(error.code).toBe("timeout")
    expect(took).toBeGreaterThanOrEqual(1000)
    expect(took).toBeLessThan(2000)
    // The slot is free again once DuckDB has stopped (the interrupt ends the query, not just the wait).
    await waitFor("the interrupted query to release its slot", () => quick.load.running === 0, 2000)
    expect((await quick.query("SELECT 1 AS n", { limit: 1 })).rows).toEqual(['{"n":1}'])
  })

  test("a client that goes away interrupts its query", async () => {
    const client = new AbortController()
    const run = failure(pool.query(LONG, { limit: 1, signal: client.signal }))
    await waitFor("the query to execute", () => pool.load.executing === 1)
    client.abort()
    expect((await run).code).toBe("cancelled")
    await waitFor("the slot to be released", () => pool.load.running === 0, 2000)
  })

  test.if(SLOTS >= 2)("a short query answers at once beside a long one", async () => {
    const stop = new AbortController()
    const long = failure(pool.query(LONG, { limit: 1, signal: stop.signal }))
    await waitFor("the long query to execute", () => pool.load.executing === 1)
    // Left to DuckDB's background threads (a poll for the result instead of a call that drives it) this
    // waited for the long query to finish: they run one query's tasks before the next one's.
    const started = performance.now()
    expect((await pool.query("SELECT count(*) AS n FROM envelopes", { limit: 1 })).rows).toEqual(['{"n":0}'])
    expect(performance.now() - started).toBeLessThan(1000)
    stop.abort()
    expect((await long).code).toBe("cancelled")
  })

  test("max_concurrent is capped so that the writer keeps a native thread, and the log says how to raise it", async () => {
    const lines: string[] = []
    const wide = await open({ maxConcurrent: 64, log: (line) => lines.push(line) })
    expect(wide.slots).toBe(nativeThreads().threads - 1)
    expect(lines.join("\n")).toContain("UV_THREADPOOL_SIZE=66")
    expect(nativeThreads({ UV_THREADPOOL_SIZE: "8" })).toEqual({ threads: 8, fromEnv: true })
    expect(nativeThreads({})).toEqual({ threads: 2, fromEnv: false })
  })

  test("max_concurrent run, max_queued wait, one more is refused as busy", async () => {
    const one = await open({ maxConcurrent: 1, maxQueued: 1 })
    const first = new AbortController()
    const running = failure(one.query(LONG, { limit: 1, signal: first.signal }))
    await waitFor("the first query to run", () => one.load.executing === 1)
    const queued = one.query("SELECT 2 AS n", { limit: 1 })
    expect(one.load.queued).toBe(1)
    const refused = await failure(one.query("SELECT 3 AS n", { limit: 1 }))
    expect(refused.code).toBe("busy")
    first.abort()
    expect((await running).code).toBe("cancelled")
    expect((await queued).rows).toEqual(['{"n":2}'])
  })

  test("DuckDB work that ignores the interrupt is answered on time and keeps its slot; a queued query gives up", async () => {
    const one = await open({ maxConcurrent: 1, maxQueued: 1, timeoutMs: 300 })
    // Planning folds this constant: seconds of work that DuckDB does not interrupt.
    const started = performance.now()
    const running = failure(one.query("SELECT len(range(10000000)) AS n", { limit: 1 }))
    await waitFor("the first query to hold the slot", () => one.load.running === 1)
    const waited = failure(one.query("SELECT 2 AS n", { limit: 1 }))
    expect((await running).code).toBe("timeout")
    expect(performance.now() - started).toBeLessThan(1000)
    // Its native thread is still busy, so the slot is too: the queued query waits its timeout_ms in vain.
    expect(one.load.running).toBe(1)
    expect((await waited).code).toBe("busy")
    await waitFor("the folded constant to finish", () => one.load.running === 0, 30_000)
    expect((await one.query("SELECT 3 AS n", { limit: 1 })).rows).toEqual(['{"n":3}'])
  })

  test("the writer commits at once while max_concurrent long queries run or wait", async () => {
    const stop = new AbortController()
    // max_concurrent (2) of them: with 2 native threads one runs and one waits, or the writer would wait.
    const long = [1, 2].map(() => failure(pool.query(LONG, { limit: 1, signal: stop.signal })))
    await waitFor(
      "the long queries to execute or wait",
      () => pool.load.executing === SLOTS && pool.load.running + pool.load.queued === 2,
    )
    const started = performance.now()
    await writer.write({
      accepted: [],
      rejected: [{ reason: "malformed", message: "test", subject: "outpost.logs.x", headers: {}, size: 1 }],
      receivedAt: Date.now(),
    })
    const took = performance.now() - started
    expect(pool.load.executing).toBe(SLOTS)
    stop.abort()
    for (const error of await Promise.all(long)) expect(error.code).toBe("cancelled")
    // Behind the queries (in the writer's queue, or with queries on every native thread) it waited 25-50 s.
    expect(took).toBeLessThan(1000)
    const rows = await pool.rows("SELECT count(*) AS n FROM processing_errors")
    expect(rows).toEqual([{ n: 1 }])
  })

  test("close interrupts running queries and refuses new ones", async () => {
    const closing = await open({})
    const running = failure(closing.query(LONG, { limit: 1 }))
    await waitFor("the query to execute", () => closing.load.executing === 1)
    const started = performance.now()
    await closing.close()
    expect(performance.now() - started).toBeLessThan(2500)
    expect((await running).code).toBe("closed")
    expect((await failure(closing.query("SELECT 1", { limit: 1 }))).code).toBe("closed")
  })
})
