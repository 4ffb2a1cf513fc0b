import type { Database } from "bun:sqlite"
import { describe, expect, test } from "bun:test"
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs"
import { waitFor } from "../../../test/harness/index.ts"
import { createLogsSource } from "./source.ts"
import { sandbox, testConfig } from "./test-support.ts"

const positionOf = (db: Database, path: string, gen?: string) =>
  db
    .query<{ position: number }, [string, string | null]>(
      "SELECT position FROM log_files WHERE path = ? AND (gen = ?2 OR ?2 IS NULL) AND status != 'done'",
    )
    .get(path, gen ?? null)?.position

describe("logs source", () => {
  test("reads appended lines incrementally, a partial line once it is complete", async () => {
    await using s = sandbox()
    const { start, file } = s
    const log = file("app.log")
    writeFileSync(log, "one\ntwo\n")
    const rowsAtEmit: (number | undefined)[] = []
    const run = start({ paths: [log] }, { onEmit: (c) => rowsAtEmit.push(positionOf(s.db, log, c.file.gen)) })
    await waitFor("first lines", () => run.lines().length === 2)
    expect(rowsAtEmit).toEqual([0]) // the generation's row was written before its first chunk
    appendFileSync(log, "thr")
    appendFileSync(log, "ee\nfo")
    await waitFor("third line", () => run.lines().length === 3)
    appendFileSync(log, "ur\n")
    await waitFor("fourth line", () => run.lines().length === 4)
    expect(run.lines()).toEqual(["one", "two", "three", "four"])
    const ranges = run.chunks.map((c) => [c.startOffset, c.endOffset])
    expect(ranges[0]).toEqual([0, 8])
    expect(ranges.at(-1)?.[1]).toBe(19)
    for (const c of run.chunks) {
      expect(c.source).toBe("test")
      expect(c.file.path).toBe(log)
      for (const p of c.parts) expect(p.raw).toBe(true)
    }
    expect(new Set(run.chunks.map((c) => c.file.gen)).size).toBe(1)
  })

  test("caps long lines in the running source and keeps going", async () => {
    await using s = sandbox()
    const { start, file } = s
    const log = file("app.log")
    writeFileSync(log, `short\n${"L".repeat(5000)}\nafter\n`)
    const run = start({ paths: [log], max_line_bytes: 100 })
    await waitFor("lines", () => run.lines().length === 3)
    expect(run.lines()).toEqual(["short", "L".repeat(100), "after"])
    expect(run.chunks.flatMap((c) => c.parts).filter((p) => p.truncated)).toHaveLength(1)
  })

  test("match mode: keywords and regexes, non-ASCII included; unmatched chunks still advance", async () => {
    await using s = sandbox()
    const { start, file, db } = s
    const log = file("app.log")
    writeFileSync(log, "GET / 200\nERROR disk full\nnothing\n")
    const run = start({
      paths: [log],
      mode: "match",
      rules: [
        { name: "errors", keywords: ["ERROR", "échec"] },
        { name: "5xx", regex: " 5\\d\\d$" },
        { name: "utf8", regex: "naïve \\S+ 日本+$" },
      ],
    })
    await waitFor("first match", () => run.lines().length === 1)
    appendFileSync(log, "GET /x 503\nplain line\nl'échec total\nune naïve idée 日本本\nGET /y 200\n")
    await waitFor("more matches", () => run.lines().length === 4)
    expect(run.chunks.flatMap((c) => c.parts.map((p) => [p.rule, Buffer.from(p.bytes).toString()]))).toEqual([
      ["errors", "ERROR disk full"],
      ["5xx", "GET /x 503"],
      ["errors", "l'échec total"],
      ["utf8", "une naïve idée 日本本"],
    ])
    appendFileSync(log, "no match here\n")
    await waitFor("empty chunk", () => run.chunks.at(-1)?.parts.length === 0)
    const empty = run.chunks.at(-1)
    expect(empty?.lines).toBe(0)
    await waitFor("position saved", () => positionOf(db, log) === empty?.endOffset)
  })

  test.each([
    ["no keywords and no regex", [{ name: "r1" }], "rule 'r1' needs keywords or a regex"],
    ["an invalid regex", [{ name: "r2", regex: "(unclosed" }], "rule 'r2' has an invalid regex /(unclosed/"],
    ["an empty keyword list", [{ name: "r3", keywords: [] }], "rule 'r3' needs keywords or a regex"],
    [
      "a keyword with a newline",
      [{ name: "r4", keywords: ["a\nb"] }],
      "rule 'r4' has a keyword with a newline",
    ],
    [
      "non-ASCII in a class",
      [{ name: "r5", regex: "[äö]x" }],
      "rule 'r5' has an invalid regex /[äö]x/: non-ASCII",
    ],
    ["no rules at all in match mode", [], `mode "match" needs at least one rule`],
  ])("rejects a source with %s", (_what, rules, message) => {
    const config = testConfig({ name: "web", paths: ["/nonexistent/*.log"], mode: "match", rules })
    expect(() => createLogsSource({ config, db: undefined as never })).toThrow(
      `logs source 'web': ${message}`,
    )
  })

  test("start_at end skips existing content on the first start only; later files start at 0", async () => {
    await using s = sandbox()
    const { start, file } = s
    const a = file("a.log")
    writeFileSync(a, "old a\n")
    const first = start({ paths: [file("*.log")], start_at: "end" })
    const b = file("b.log")
    writeFileSync(b, "b from start\n")
    appendFileSync(a, "new a\n")
    await waitFor("new lines", () => first.lines().length === 2)
    expect(first.lines(a)).toEqual(["new a"])
    expect(first.lines(b)).toEqual(["b from start"])
    await first.stop()
    // created while the agent is down: state exists, so from the beginning
    const c = file("c.log")
    writeFileSync(c, "c1\nc2\n")
    const second = start({ paths: [file("*.log")], start_at: "end" })
    await waitFor("c lines", () => second.lines(c).length === 2)
    expect(second.lines()).toEqual(["c1", "c2"])
  })

  test("start_at beginning reads existing content", async () => {
    await using s = sandbox()
    const { start, file } = s
    const a = file("a.log")
    writeFileSync(a, "old\n")
    const run = start({ paths: [a], start_at: "beginning" })
    await waitFor("line", () => run.lines().length === 1)
    expect(run.lines()).toEqual(["old"])
  })

  test("picks up a new file that matches the glob, and not one that does not", async () => {
    await using s = sandbox()
    const { start, file } = s
    const run = start({ paths: [file("*.log")], poll_interval_ms: 5000 })
    await run.watching
    writeFileSync(file("new.log"), "hello\n")
    writeFileSync(file("new.txt"), "ignored\n")
    await waitFor("new file (through the watcher: polling is 5 s)", () => run.lines().length === 1)
    expect(run.chunks[0]?.file.path).toBe(file("new.log"))
  })

  test("a directory that does not exist yet is watched for through polling", async () => {
    await using s = sandbox()
    const run = s.start({ paths: [s.file("later/*.log")] })
    await run.afterScans(1)
    mkdirSync(s.file("later"))
    writeFileSync(s.file("later/x.log"), "x1\n")
    await waitFor("x1", () => run.lines().length === 1)
    expect(run.logs).toEqual([`logs[test]: ${s.file("later/*.log")} matches no file yet`])
    expect(run.events.map((e) => e.message)).toContain(`${s.file("later/*.log")} now matches 1 file`)
  })

  test("files that start alike are all read: at start-up at once, a later one after a short hold", async () => {
    await using s = sandbox()
    writeFileSync(s.file("a.log"), "same start\n")
    writeFileSync(s.file("b.log"), "same start\n")
    const run = s.start({ paths: [s.file("*.log")], start_at: "end" })
    appendFileSync(s.file("b.log"), "b2\n")
    await waitFor("b2", () => run.lines().length === 1)
    expect(run.lines()).toEqual(["b2"]) // b.log started at its end too: it was not held back
    writeFileSync(s.file("c.log"), "same start\nc2\n") // might be a copy of a.log: held for a moment
    await waitFor("c.log", () => run.lines(s.file("c.log")).length === 2)
  })

  test("serves files round-robin: a big file does not starve a small one", async () => {
    await using s = sandbox()
    const { start, file } = s
    writeFileSync(file("big.log"), `${"x".repeat(99)}\n`.repeat(2000)) // 200 KB = ~50 chunks
    writeFileSync(file("small.log"), "s1\n")
    const run = start({ paths: [file("*.log")] })
    await waitFor("everything", () => run.lines().length === 2001)
    const firstSmall = run.chunks.findIndex((c) => c.file.path === file("small.log"))
    expect(firstSmall).toBeLessThan(2)
  })

  test("stops reading while emit blocks, and run() resolves promptly on abort", async () => {
    await using s = sandbox()
    const { start, file } = s
    const log = file("app.log")
    writeFileSync(log, `${"y".repeat(99)}\n`.repeat(1000))
    const run = start({ paths: [log] }, { gated: true })
    await waitFor("first chunk", () => run.chunks.length === 1)
    const scans = run.scans()
    // Time itself, not an event: while emit blocks, the source does nothing at all (no rescan, no read, no
    // timer), so there is nothing to await. Five poll intervals, in which a source that did not wait would have
    // read on and rescanned.
    await Bun.sleep(5 * 20)
    expect({ chunks: run.chunks.length, scans: run.scans() - scans }).toEqual({ chunks: 1, scans: 0 })
    const t0 = performance.now()
    await run.stop()
    expect(performance.now() - t0).toBeLessThan(500)
  })
})
