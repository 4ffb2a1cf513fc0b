import { describe, expect, test } from "bun:test"
import { appendFileSync, copyFileSync, renameSync, truncateSync, unlinkSync, writeFileSync } from "node:fs"
import { waitFor } from "../../../test/harness/index.ts"
import { sandbox } from "./test-support.ts"

describe("restart", () => {
  test("resumes exactly at the last acked position: un-acked chunks are read again, acked ones are not", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    writeFileSync(log, "l1\nl2\n")
    const first = s.start({ paths: [log] }, { autoAck: false })
    await waitFor("chunk 1", () => first.chunks.length === 1)
    appendFileSync(log, "l3\n")
    await waitFor("chunk 2", () => first.chunks.length === 2)
    appendFileSync(log, "l4\n")
    await waitFor("chunk 3", () => first.chunks.length === 3)
    expect(s.rows()[0]?.position).toBe(0) // nothing is saved at read time
    first.chunks[0]?.ack()
    expect(s.rows()[0]?.position).toBe(6)
    await first.stop()

    const second = s.start({ paths: [log] })
    await waitFor("re-read", () => second.lines().length === 2)
    expect(second.lines()).toEqual(["l3", "l4"])
    expect(second.chunks[0]?.file.gen).toBe(first.chunks[0]?.file.gen as string)
    expect(second.chunks[0]?.startOffset).toBe(6)
    await waitFor("saved", () => s.rows()[0]?.position === 12)
  })

  test("a file rotated (rename + create) while the agent was down is drained from its new name", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    writeFileSync(log, "a1\n")
    const first = s.start({ paths: [s.file("*.log")] })
    await waitFor("a1", () => first.lines().length === 1)
    await first.stop()
    appendFileSync(log, "a2\n")
    renameSync(log, s.file("app.log.1"))
    appendFileSync(s.file("app.log.1"), "a3\n")
    writeFileSync(log, "b1\n")

    const second = s.start({ paths: [s.file("*.log")] })
    await waitFor("all", () => second.lines().length === 3)
    const oldGen = first.chunks[0]?.file.gen
    expect(second.lines((c) => c.file.gen === oldGen)).toEqual(["a2", "a3"])
    expect(second.lines((c) => c.file.gen !== oldGen)).toEqual(["b1"])
    await waitFor("old done", () => s.rows()[0]?.status === "done")
  })

  test("a file copy-truncated while the agent was down is finished from the copy", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    writeFileSync(log, "a1\n")
    const first = s.start({ paths: [log] })
    await waitFor("a1", () => first.lines().length === 1)
    await first.stop()
    appendFileSync(log, "a2\n")
    copyFileSync(log, s.file("app.log.1"))
    truncateSync(log, 0)
    appendFileSync(log, "b1\nb2\n") // longer than before: only the fingerprint tells

    const second = s.start({ paths: [log] })
    await waitFor("all", () => second.lines().length === 3)
    const oldGen = first.chunks[0]?.file.gen
    expect(second.lines((c) => c.file.gen === oldGen)).toEqual(["a2"])
    expect(second.lines((c) => c.file.gen !== oldGen)).toEqual(["b1", "b2"])
  })

  test("a file that vanished while the agent was down is logged with the bytes at risk and marked done", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    writeFileSync(log, "a1\n")
    const first = s.start({ paths: [log] }, { autoAck: false })
    await waitFor("a1", () => first.chunks.length === 1)
    await first.stop()
    unlinkSync(log)

    const second = s.start({ paths: [log] })
    const gone = () => second.logs.filter((l) => l.includes("is gone"))
    await waitFor("log", () => gone().length === 1)
    expect(gone()[0]).toContain(`${log} (generation ${first.chunks[0]?.file.gen}) is gone: 3 bytes`)
    expect(s.rows()[0]?.status).toBe("done")
  })

  test("done generations are forgotten after a week, unless their file is still there", async () => {
    await using s = sandbox()
    writeFileSync(s.file("a.log"), "a1\n")
    writeFileSync(s.file("b.log"), "b1\n")
    const first = s.start({ paths: [s.file("*.log")] })
    await waitFor("lines", () => first.lines().length === 2)
    renameSync(s.file("a.log"), s.file("a.log.1")) // kept: the rotated file is still there
    unlinkSync(s.file("b.log")) // forgotten: gone
    await waitFor("both done", () => s.rows().every((r) => r.status === "done"))
    await first.stop()
    const later = Date.now() + 8 * 24 * 3600 * 1000
    const second = s.start({ paths: [s.file("*.log")] }, { now: () => later })
    await waitFor("pruned", () => s.rows().length === 1)
    expect(s.rows()[0]?.gen).toBe(
      first.chunks.find((c) => c.file.path === s.file("a.log"))?.file.gen as string,
    )
    await second.stop()
  })

  // read_chunk_bytes 4096: the first read ends at byte 4096, inside the long line or exactly at its newline
  test.each([
    ["several chunks before its newline", 10_000],
    ["exactly at its newline", 4096 - 3],
  ])(
    "a long line cut at max_line_bytes before the stop, the cut %s: on resume its rest is skipped exactly",
    async (_where, longBytes) => {
      await using s = sandbox()
      const log = s.file("app.log")
      writeFileSync(log, `a1\n${"L".repeat(longBytes)}\nafter\n`)
      const config = { paths: [log], max_line_bytes: 100 }
      const first = s.start(config, { autoAck: false })
      await waitFor("the first chunk", () => first.chunks.length >= 1)
      expect(first.chunks[0]).toMatchObject({ startOffset: 0, endOffset: 4096 })
      expect(first.lines((c) => c === first.chunks[0])).toEqual(["a1", "L".repeat(100)])
      first.chunks[0]?.ack() // the rest (the skip over the long line, "after") is never acknowledged
      await first.stop()
      expect(s.rows()[0]?.position).toBe(4096)

      const second = s.start(config)
      await waitFor("after", () => second.lines().includes("after"))
      appendFileSync(log, "more\n")
      await waitFor("more", () => second.lines().includes("more"))
      expect(second.lines()).toEqual(["after", "more"])
      expect(second.chunks.flatMap((c) => c.parts)[0]?.offset).toBe(3 + longBytes + 1)
      const gen = first.chunks[0]?.file.gen ?? "none"
      expect(new Set(second.chunks.map((c) => c.file.gen))).toEqual(new Set([gen])) // resumed, not a new generation
    },
  )
})

describe("a glob that also matches rotated names, across restarts", () => {
  test.each([
    ["while the agent runs", true],
    ["while the agent is down", false],
  ])("a file renamed %s is never read again after a restart", async (_when, running) => {
    await using s = sandbox()
    const log = s.file("app.log")
    const config = { paths: [s.file("app.log*")] }
    writeFileSync(log, "a1\na2\n")
    const runs = [s.start(config)]
    const delivered = () => runs.flatMap((r) => r.lines())
    const restart = async () => {
      await runs.at(-1)?.stop()
      const run = s.start(config)
      runs.push(run)
      return run
    }
    const rotate = () => {
      renameSync(log, s.file("app.log.1"))
      appendFileSync(s.file("app.log.1"), "a3\n") // the writer still has it open
      writeFileSync(log, "b1\n")
    }
    await waitFor("a1, a2", () => delivered().length === 2)
    if (running) rotate()
    else {
      await runs[0]?.stop()
      rotate()
      runs.push(s.start(config)) // finds the generation under its new name and drains it
    }
    await waitFor("a3, b1", () => delivered().length === 4)
    await waitFor("the renamed generation done", () => s.rows()[0]?.status === "done")

    const last = await restart()
    appendFileSync(log, "b2\n")
    await waitFor("b2", () => last.lines().includes("b2"))
    await last.afterScans(3) // full read rounds after start-up, which had the renamed file among its matches
    expect(last.lines()).toEqual(["b2"])
    expect(delivered()).toEqual(["a1", "a2", "a3", "b1", "b2"])
    expect(s.rows().map((r) => [r.path, r.status])).toEqual([
      [log, "done"],
      [log, "active"],
    ])
  })
})
