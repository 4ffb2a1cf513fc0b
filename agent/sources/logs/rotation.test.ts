import { describe, expect, test } from "bun:test"
import { appendFileSync, copyFileSync, renameSync, truncateSync, unlinkSync, writeFileSync } from "node:fs"
import { waitFor } from "../../../test/harness/index.ts"
import { chunkLines, openDeletedFiles, sandbox, type TestRun } from "./test-support.ts"

/** Lines per generation, generations in order of first appearance. */
function byGeneration(run: TestRun): string[][] {
  const gens = new Map<string, string[]>()
  for (const chunk of run.chunks) {
    const lines = gens.get(chunk.file.gen) ?? []
    lines.push(...chunkLines(chunk))
    gens.set(chunk.file.gen, lines)
  }
  return [...gens.values()]
}

describe("rotation and truncation", () => {
  test("rename + create: the old file is read to its end, late writes included, then the new one", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    writeFileSync(log, "a1\na2\n")
    const run = s.start({ paths: [log], rotate_wait_ms: 200 })
    await waitFor("first lines", () => run.lines().length === 2)
    renameSync(log, s.file("app.log.1"))
    appendFileSync(s.file("app.log.1"), "a3\n") // the writer still has the old file open
    writeFileSync(log, "b1\n")
    await waitFor("new file", () => run.lines().includes("b1"))
    appendFileSync(s.file("app.log.1"), "a4\npartial")
    appendFileSync(log, "b2\n")
    await waitFor("everything", () => run.lines().length === 7)
    expect(byGeneration(run)).toEqual([
      ["a1", "a2", "a3", "a4", "partial"],
      ["b1", "b2"],
    ])
    await waitFor("old generation done", () => s.rows()[0]?.status === "done")
    expect(s.rows().map((r) => [r.path, r.status])).toEqual([
      [log, "done"],
      [log, "active"],
    ])
  })

  test("copytruncate: lines not read yet are read from the copy, then the truncated file from 0", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    writeFileSync(log, "a1\na2\n")
    const run = s.start({ paths: [s.file("*.log")] }, { gated: true })
    await waitFor("first chunk (emit then blocks)", () => run.chunks.length === 1)
    appendFileSync(log, "a3\na4\n") // not read: the source waits on emit
    writeFileSync(s.file("old.txt"), "a1\na2\n") // same first bytes but too short to be the copy
    copyFileSync(log, s.file("app.log.1"))
    truncateSync(log, 0)
    appendFileSync(log, "b1\n")
    run.gate.open()
    await waitFor("everything", () => run.lines().length === 5)
    expect(byGeneration(run)).toEqual([["a1", "a2", "a3", "a4"], ["b1"]])
    await waitFor("old generation done", () => s.rows()[0]?.status === "done")
    expect(run.logs).toEqual([])
  })

  test("plain truncation starts a new generation at 0", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    writeFileSync(log, "first 1\nfirst 2\n")
    const run = s.start({ paths: [log] })
    await waitFor("first lines", () => run.lines().length === 2)
    truncateSync(log, 0)
    await run.afterScans(2) // a full read round sees the empty file before less than before is written
    appendFileSync(log, "x\n")
    await waitFor("new line", () => run.lines().length === 3)
    expect(byGeneration(run)).toEqual([["first 1", "first 2"], ["x"]])
  })

  test("a file truncated and rewritten past the old position before the next look is still noticed", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    writeFileSync(log, "one\n")
    const run = s.start({ paths: [log] }, { gated: true })
    await waitFor("first chunk", () => run.chunks.length === 1)
    writeFileSync(log, "rewritten from the start\n") // truncate + write more than the 4 bytes read
    run.gate.open()
    await waitFor("new content", () => run.lines().length === 2)
    expect(byGeneration(run)).toEqual([["one"], ["rewritten from the start"]])
  })

  test("a deleted file is read to its end through the open fd, then released", async () => {
    await using s = sandbox()
    const log = s.file("gone.log")
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i} ${"z".repeat(40)}`)
    writeFileSync(log, `${lines.join("\n")}\n`) // ~15 KB: several 4 KB chunks
    const run = s.start({ paths: [log] }, { gated: true })
    await waitFor("first chunk", () => run.chunks.length === 1)
    unlinkSync(log)
    run.gate.open()
    await waitFor("all lines", () => run.lines().length === 300)
    expect(run.lines()).toEqual(lines)
    await waitFor("fd released", () => !openDeletedFiles().some((f) => f.startsWith(log)))
    await waitFor("generation done", () => s.rows()[0]?.status === "done")
  })
})

describe("a glob that also matches rotated names", () => {
  test("a renamed file is not read again under its new name", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    writeFileSync(log, "a1\na2\n")
    const run = s.start({ paths: [s.file("app.log*")] })
    await waitFor("first lines", () => run.lines().length === 2)
    renameSync(log, s.file("app.log.1"))
    appendFileSync(s.file("app.log.1"), "a3\n")
    writeFileSync(log, "b1\n")
    await waitFor("old generation done", () => s.rows()[0]?.status === "done")
    await run.afterScans(5) // a few more polls: nothing new may arrive
    expect(byGeneration(run)).toEqual([["a1", "a2", "a3"], ["b1"]])
  })

  test("the copy left by copytruncate is not read as a new file", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    writeFileSync(log, "a1\na2\n")
    const run = s.start({ paths: [s.file("app.log*")] }, { gated: true })
    await waitFor("first chunk", () => run.chunks.length === 1)
    appendFileSync(log, "a3\n")
    copyFileSync(log, s.file("app.log.1"))
    truncateSync(log, 0)
    appendFileSync(log, "b1\n")
    await Bun.sleep(60) // a rescan is due when the gate opens: it finds the copy before the truncation is seen
    run.gate.open()
    await waitFor("old generation done", () => s.rows()[0]?.status === "done" && run.lines().length >= 4)
    await Bun.sleep(250) // past the time a possible copy is held back
    expect(byGeneration(run)).toEqual([["a1", "a2", "a3"], ["b1"]])
    expect(s.rows().map((r) => r.path)).toEqual([log, log])
  })
})
