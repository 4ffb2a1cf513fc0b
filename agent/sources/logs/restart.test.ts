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
})
