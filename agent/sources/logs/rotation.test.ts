import { describe, expect, test } from "bun:test"
import { appendFileSync, copyFileSync, renameSync, truncateSync, unlinkSync, writeFileSync } from "node:fs"
import { waitFor } from "../../../test/harness/index.ts"
import { chunkLines, holdsOpen, openDeletedFiles, sandbox, type TestRun } from "./test-support.ts"

const text = (lines: string[]) => lines.map((l) => `${l}\n`).join("")

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

  test("a file truncated below the read position and rewritten alike is read as a new generation within seconds", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    // the same start-up banner, longer than the fingerprint (1 KiB): only the size tells the new content apart
    const banner = Array.from({ length: 12 }, (_, i) => `banner ${i} ${"=".repeat(90)}`)
    const before = Array.from({ length: 10 }, (_, i) => `before ${i}`)
    const after = ["after 0", "after 1", "after 2"]
    writeFileSync(log, text([...banner, ...before]))
    // polling every minute: only the source noticing the truncation itself can start the new generation in time
    const run = s.start({ paths: [log], poll_interval_ms: 60_000 }, { gated: true })
    await waitFor("the whole file in one chunk", () => run.chunks.length === 1)
    writeFileSync(log, text([...banner, ...after])) // truncated, then shorter than what was read
    run.gate.open()
    await waitFor(
      "the new lines",
      () => run.lines().length === banner.length * 2 + before.length + after.length,
      5_000,
    )
    expect(byGeneration(run)).toEqual([
      [...banner, ...before],
      [...banner, ...after],
    ])
    expect(s.rows().map((r) => r.status)).toEqual(["done", "active"])
  })

  test("a rotated generation with unacknowledged chunks is kept, not done, until they are acked", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    const rotated = s.file("app.log.1")
    writeFileSync(log, "a1\na2\n")
    const run = s.start({ paths: [log] }, { autoAck: false })
    await waitFor("a1, a2", () => run.lines().length === 2)
    renameSync(log, rotated)
    writeFileSync(log, "b1\n")
    await waitFor("b1", () => run.lines().length === 3)
    // read to its end and closed once idle for rotate_wait_ms; its chunk still awaits the transport's ack
    await waitFor("the rotated file closed", () => !holdsOpen(rotated))
    const oldGen = run.chunks[0]?.file.gen
    const oldRow = () => s.rows().find((r) => r.gen === oldGen)
    expect(oldRow()).toMatchObject({ status: "draining", position: 0 })
    run.chunks[0]?.ack()
    expect(oldRow()).toMatchObject({ status: "done", position: 6 })
    run.chunks[1]?.ack()
    expect(s.rows().map((r) => [r.path, r.status, r.position])).toEqual([
      [log, "done", 6],
      [log, "active", 3],
    ])
  })

  test("a rotated generation is done only when its last chunk is acked, not at the first ack after it closed", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    const rotated = s.file("app.log.1")
    writeFileSync(log, "a1\n")
    const run = s.start({ paths: [log] }, { autoAck: false })
    await waitFor("a1", () => run.chunks.length === 1)
    appendFileSync(log, "a2\n")
    await waitFor("a2 in a chunk of its own", () => run.chunks.length === 2)
    renameSync(log, rotated)
    writeFileSync(log, "b1\n")
    await waitFor("b1", () => run.lines().length === 3)
    await waitFor("the rotated file closed", () => !holdsOpen(rotated))
    const oldGen = run.chunks[0]?.file.gen
    const oldRow = () => s.rows().find((r) => r.gen === oldGen)
    run.chunks[0]?.ack()
    // a2 is not acknowledged: marking the generation done now would skip it after a restart
    expect(oldRow()).toMatchObject({ status: "draining", position: 3 })
    run.chunks[1]?.ack()
    expect(oldRow()).toMatchObject({ status: "done", position: 6 })
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
    let skew = 0 // added to the source's clock: see below
    const run = s.start({ paths: [s.file("app.log*")] }, { gated: true, now: () => Date.now() + skew })
    await waitFor("first chunk", () => run.chunks.length === 1)
    appendFileSync(log, "a3\n")
    copyFileSync(log, s.file("app.log.1"))
    truncateSync(log, 0)
    appendFileSync(log, "b1\n")
    // Time itself, not an event: a rescan is due once a poll interval (20 ms, on the monotonic clock) has passed
    // since the last one, so that the one right after the gate opens finds the copy before the truncation is
    // seen. While emit blocks the source does nothing that could be awaited.
    await Bun.sleep(60)
    run.gate.open()
    await waitFor("old generation done", () => s.rows()[0]?.status === "done" && run.lines().length >= 4)
    // A possible copy is held back for rotate_wait_ms + poll_interval_ms by the source's clock: move that clock
    // past the hold-back instead of sleeping through it, then let a rescan and its read round run, the ones
    // that would admit the copy as a new file had it not been claimed.
    skew += 1_000
    await run.afterScans(2)
    expect(byGeneration(run)).toEqual([["a1", "a2", "a3"], ["b1"]])
    expect(s.rows().map((r) => r.path)).toEqual([log, log])
  })
})
