import { expect, setDefaultTimeout, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { freePort, tempDir } from "../harness/index.ts"

// Starts real nats-server, DuckDB and processes: give a busy 2-core machine room.
setDefaultTimeout(60_000)

/** Byte offset -> line of a file, for every whole line. */
function linesByOffset(path: string): Map<number, string> {
  const bytes = readFileSync(path)
  const out = new Map<number, string>()
  let at = 0
  for (let nl = bytes.indexOf(10); nl >= 0; nl = bytes.indexOf(10, at)) {
    out.set(at, bytes.subarray(at, nl).toString("utf8"))
    at = nl + 1
  }
  return out
}

test("the README's demo starts nats-server, collector and agent, and lines reach DuckDB", async () => {
  await using dir = tempDir("outpost-demo-")
  const args = ["--seconds", "6", "--dir", dir.path, "--http-port", String(await freePort())]
  const proc = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "../../scripts/demo.ts"),
      ...args,
      "--nats-port",
      String(await freePort()),
    ],
    { stdout: "pipe", stderr: "pipe" },
  )
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited])
  expect(code).toBe(0)
  expect(out).toContain("/sql?q=")

  // What landed is read from the DuckDB file itself (the demo has stopped the collector), not from the demo's words.
  const db = await DuckDBInstance.create(join(dir.path, "collector/outpost.duckdb"), {
    access_mode: "READ_ONLY",
  })
  const conn = await db.connect()
  const rows = (
    await conn.runAndReadAll(`SELECT agent, file, "offset", line, rule FROM logs ORDER BY file, "offset"`)
  ).getRowObjectsJson() as {
    agent: string
    file: string
    offset: string | number
    line: string
    rule: string | null
  }[]
  conn.closeSync()
  db.closeSync()

  const access = linesByOffset(join(dir.path, "logs/access.log"))
  const app = linesByOffset(join(dir.path, "logs/app.log"))
  const accessRows = rows.filter((r) => r.file.endsWith("/access.log"))
  const appRows = rows.filter((r) => r.file.endsWith("/app.log"))
  expect(accessRows.length + appRows.length).toBe(rows.length)
  expect(accessRows.length).toBeGreaterThan(50)
  expect(new Set(rows.map((r) => r.agent))).toEqual(new Set(["demo-agent"]))

  // "all" mode from the beginning: the rows are the file's first lines, each once, at its own offset.
  const accessOffsets = [...access.keys()].slice(0, accessRows.length)
  expect(accessRows.map((r) => Number(r.offset))).toEqual(accessOffsets)
  for (const r of accessRows) expect(r.line).toBe(access.get(Number(r.offset)) as string)

  // "match" mode: only lines a rule matched, each with the rule that matched it, each once.
  expect(appRows.length).toBeGreaterThan(0)
  expect(new Set(appRows.map((r) => Number(r.offset))).size).toBe(appRows.length)
  for (const r of appRows) {
    expect(r.line).toBe(app.get(Number(r.offset)) as string)
    if (r.rule === "errors") expect(r.line).toMatch(/ERROR|FATAL/)
    else expect([r.rule, r.line]).toEqual(["slow", expect.stringMatching(/took [0-9]{4,} ms/)])
  }
  const matching = [...app.values()].filter((l) => /ERROR|FATAL|took [0-9]{4,} ms/.test(l)).length
  expect(appRows.length).toBeLessThanOrEqual(matching)

  const landed = Number(/demo stopped: (\d+) log lines/.exec(out)?.[1] ?? 0)
  expect(landed).toBe(rows.length)
})
