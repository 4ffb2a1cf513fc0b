import { describe, expect, test } from "bun:test"
import { appendFileSync, copyFileSync, renameSync, truncateSync, writeFileSync } from "node:fs"
import { waitFor } from "../../../test/harness/index.ts"
import { sandbox, type TestRun } from "./test-support.ts"

/** The info lines a run logged, "level message", each once. */
const said = (run: TestRun) => run.events.map((e) => `${e.level} ${e.message}`)

describe("each file's life is logged once, at info", () => {
  test("found, rotated, done with, and the new file found", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    writeFileSync(log, "a1\na2\n")
    const run = s.start({ paths: [log], rotate_wait_ms: 100 })
    await waitFor("first lines", () => run.lines().length === 2)
    const first = run.chunks[0]?.file.gen
    renameSync(log, s.file("app.log.1"))
    writeFileSync(log, "b1\n")
    await waitFor("the new file", () => run.lines().includes("b1"))
    await waitFor("the old file released", () => said(run).some((l) => l.startsWith(`info done with ${log}`)))
    await run.afterScans(5) // polling does not repeat any of it
    const second = run.chunks.at(-1)?.file.gen
    expect(said(run)).toEqual([
      `info reading ${log} from the start`,
      `info ${log} was rotated (renamed away, a new file is in its place): reading the old file to its end`,
      `info reading ${log} from the start`,
      `info done with ${log} (the rotated file read to its end) at byte 6: 6 B read`,
    ])
    const gens = run.events.map((e) => e.fields?.gen)
    expect(gens).toEqual([first, first, second, first])
    expect(run.events[0]?.fields).toEqual({ gen: first, size: 6 })
    expect(run.logs).toEqual([])
  })

  test("start_at = end names the byte it starts from; a restart resumes at the saved position", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    writeFileSync(log, "old 1\nold 2\n")
    const run = s.start({ paths: [log], start_at: "end" })
    await run.afterScans(1)
    appendFileSync(log, "new\n")
    await waitFor("new line", () => run.lines().length === 1)
    await run.stop()
    expect(said(run)).toEqual([`info reading ${log} from its end, byte 12 (start_at = "end")`])
    const again = s.start({ paths: [log], start_at: "end" })
    await again.afterScans(1)
    expect(said(again)).toEqual([`info resuming ${log} at byte 16`])
  })

  test("copytruncate: the copy that holds the rest is named", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    writeFileSync(log, "a1\na2\n")
    const run = s.start({ paths: [log] }, { gated: true })
    await waitFor("first chunk", () => run.chunks.length === 1)
    appendFileSync(log, "a3\n")
    copyFileSync(log, s.file("app.log.1"))
    truncateSync(log, 0)
    run.gate.open()
    await waitFor("a3 from the copy", () => run.lines().includes("a3"))
    expect(said(run)).toContain(
      `info ${log} was truncated (copytruncate): reading the rest from its copy ${s.file("app.log.1")}`,
    )
  })

  test("a backlog is reported when found and once caught up", async () => {
    await using s = sandbox()
    const log = s.file("big.log")
    writeFileSync(log, `${"x".repeat(99)}\n`.repeat(2000)) // 200 000 bytes
    const run = s.start({ paths: [log] }, { backlog: { thresholdBytes: 64 * 1024 } })
    await waitFor("every line", () => run.lines().length === 2000)
    await waitFor("caught up", () => said(run).some((l) => l.startsWith("info caught up")))
    const backlog = said(run).filter((l) => l.includes("catching up") || l.includes("caught up"))
    // the first read (4096 bytes: 40 whole lines of 100) leaves 196 000 bytes
    expect(backlog[0]).toBe(`info catching up on ${log}: 191.4 KiB to read`)
    expect(backlog.at(-1)).toMatch(
      new RegExp(`^info caught up on ${log}: read \\d+\\.\\d KiB in \\d+ (ms|s)$`),
    )
    expect(backlog.filter((l) => l.includes("caught up"))).toHaveLength(1)
  })
})

describe("status", () => {
  test("lists each configured path with its matches, and each file with position, size and bytes behind", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    writeFileSync(log, "line 0000\n".repeat(1000)) // 10 000 bytes; chunks of 4096 bytes hold 409 whole lines
    const run = s.start({ paths: [log, s.file("none/*.log")] }, { gated: true })
    await waitFor("first chunk (emit then blocks)", () => run.chunks.length === 1)
    const status = run.source.status?.()
    expect(status?.patterns).toEqual([
      { pattern: log, files: 1 },
      { pattern: s.file("none/*.log"), files: 0 },
    ])
    expect(status?.files).toEqual([
      {
        source: "test",
        path: log,
        gen: run.chunks[0]?.file.gen ?? "",
        state: "active",
        position: 4090,
        acked: 4090,
        size: 10_000,
        behind: 5910,
      },
    ])
    run.gate.open()
    await run.stop()
    expect(run.source.status?.().files).toEqual([])
  })
})
