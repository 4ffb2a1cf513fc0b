#!/usr/bin/env bun
/**
 * bench:sql-limits — RSS of the collector's process while /sql answers queries built to exhaust memory.
 * Each query runs in a fresh child process on an empty DuckDB file, once through the QueryPool (as /sql
 * runs it now) and once the way /sql ran before (materialized on a plain connection, `LIMIT` appended).
 *
 *   bun scripts/bench/sql-limits.ts [--only pool|before] [--query <index>] [--timeout-ms 60000]
 * Careful with `--only before` on the list query: it needs well over 10 GiB.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { openQueryPool } from "../../collector/sinks/duckdb/query-pool.ts"
import { DuckDbWriter } from "../../collector/sinks/duckdb/writer.ts"

const QUERIES = [
  "SELECT repeat('x', 1000000) FROM range(3000)",
  "SELECT repeat('x', 100000000)",
  "SELECT list(range(100000000))",
  "SELECT i, repeat('x', 200) AS s FROM range(10000000) t(i)",
]

const MiB = 1024 * 1024
const peakMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]) / 1024
const rssMiB = () => process.memoryUsage().rss / MiB

type Outcome = { before: number; peak: number; after: number; ms: number; result: string }

/** Runs one query in this process and prints an Outcome as JSON. */
async function child(mode: string, sql: string, timeoutMs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "outpost-sql-bench-"))
  const writer = await DuckDbWriter.open(join(dir, "b.duckdb"))
  const before = rssMiB()
  const started = performance.now()
  let result: string
  try {
    if (mode === "pool") {
      const pool = await openQueryPool(writer.instance, {
        maxConcurrent: 2,
        maxQueued: 16,
        timeoutMs,
        maxResultBytes: 16 * MiB,
        maxQueryChars: 100_000,
      })
      const r = await pool.query(sql, { limit: 1000 })
      result = `${r.rows.length} rows, ${(r.bytes / MiB).toFixed(1)} MiB, truncated ${r.truncated ?? "no"}`
      await pool.close()
    } else {
      const conn = await writer.instance.connect()
      const rows = (await conn.runAndReadAll(`SELECT * FROM (${sql}) LIMIT 1000`)).getRowObjects()
      const body = JSON.stringify({
        rows: rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)]))),
      })
      result = `${rows.length} rows, ${(body.length / MiB).toFixed(1)} MiB`
      conn.closeSync()
    }
  } catch (error) {
    result = `error: ${(error as Error).message.split("\n")[0]}`
  }
  const ms = performance.now() - started
  Bun.gc(true)
  const outcome: Outcome = { before, peak: peakMiB(), after: rssMiB(), ms, result }
  console.log(JSON.stringify(outcome))
  await writer.close()
  rmSync(dir, { recursive: true, force: true })
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const flag = (name: string) => {
    const at = args.indexOf(`--${name}`)
    return at >= 0 ? args[at + 1] : undefined
  }
  if (flag("child"))
    return await child(String(flag("child")), String(flag("sql")), Number(flag("timeout-ms")))
  const timeoutMs = Number(flag("timeout-ms") ?? 60_000)
  const modes = flag("only") ? [String(flag("only"))] : ["pool", "before"]
  console.log("mode    before MiB  peak MiB  after MiB  seconds  result                       query")
  const picked = flag("query") === undefined ? QUERIES : [QUERIES[Number(flag("query"))] ?? ""]
  for (const sql of picked) {
    for (const mode of modes) {
      const proc = Bun.spawn(
        [
          process.execPath,
          import.meta.path,
          "--child",
          mode,
          "--sql",
          sql,
          "--timeout-ms",
          String(timeoutMs),
        ],
        { stdout: "pipe", stderr: "pipe" },
      )
      const out = await new Response(proc.stdout).text()
      const code = await proc.exited
      const line = out.trim().split("\n").pop() ?? ""
      const o = (line.startsWith("{") ? JSON.parse(line) : null) as Outcome | null
      const cols = o
        ? `${o.before.toFixed(0).padStart(10)}  ${o.peak.toFixed(0).padStart(8)}  ${o.after.toFixed(0).padStart(9)}  ${(o.ms / 1000).toFixed(1).padStart(7)}  ${o.result.slice(0, 28).padEnd(28)}`
        : `process died (exit ${code}, signal ${proc.signalCode ?? "-"})`.padEnd(71)
      console.log(`${mode.padEnd(6)}  ${cols} ${sql}`)
    }
  }
}

await main()
