import { describe, expect, test } from "bun:test"
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs"
import { waitFor } from "../../test/harness/index.ts"
import { sandbox, type TestRun } from "../sources/logs/test-support.ts"
import { closeLocated, createLocator, GONE, type Located } from "./locate.ts"

const text = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix} line ${i}\n`).join("")

type Sandbox = ReturnType<typeof sandbox>

/** Runs the real logs source over `log` until its row holds the whole file; returns the generation. */
async function readBySource(
  s: Sandbox,
  log: string,
  content: string,
): Promise<{ gen: string; run: TestRun }> {
  writeFileSync(log, content)
  const run = s.start({ paths: [log] })
  await waitFor("file read and committed", () =>
    s.rows().some((r) => r.path === log && r.position === content.length),
  )
  return { gen: s.rows().find((r) => r.path === log)?.gen ?? "", run }
}

/** Locates and closes at once: where it was found, or why it is gone. */
function where(
  s: Sandbox,
  gen: string,
  offset: number,
): { path: string; rotated: boolean } | { gone: string } {
  const located: Located = createLocator(s.db)(gen, offset)
  try {
    return located.found ? { path: located.file.path, rotated: located.rotated } : { gone: located.gone }
  } finally {
    closeLocated(located)
  }
}

describe("locating a generation", () => {
  test("the file at its path, while it is being read", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    const { gen } = await readBySource(s, log, text("a", 10))
    expect(where(s, gen, 12)).toEqual({ path: log, rotated: false })
    const located = createLocator(s.db)(gen, 12)
    expect(located).toMatchObject({ found: true, source: "test", path: log })
    closeLocated(located)
  })

  test("rename rotation: the old generation in the renamed file, the new one at the path", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    const { gen: old } = await readBySource(s, log, text("a", 10))
    renameSync(log, s.file("app.log.1"))
    writeFileSync(log, text("b", 3))
    await waitFor("new generation", () => s.rows().length === 2)
    const fresh = s.rows().find((r) => r.gen !== old)?.gen ?? ""
    expect(where(s, old, 12)).toEqual({ path: s.file("app.log.1"), rotated: true })
    expect(where(s, fresh, 0)).toEqual({ path: log, rotated: false })
  })

  test("copytruncate seen by the source: the copy (its row moved to the copy's inode)", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    const content = text("a", 10)
    const { gen } = await readBySource(s, log, content)
    writeFileSync(s.file("old.txt"), content.slice(0, 20)) // same first bytes, too short to hold the offset
    copyFileSync(log, s.file("app.log.1"))
    truncateSync(log, 0)
    appendFileSync(log, "b line 0\n")
    const copyIno = String(statSync(s.file("app.log.1"), { bigint: true }).ino)
    await waitFor("row moved to the copy", () => s.rows().find((r) => r.gen === gen)?.ino === copyIno)
    expect(where(s, gen, content.length - 9)).toEqual({ path: s.file("app.log.1"), rotated: true })
  })

  test("copytruncate while the agent was stopped: the copy, by first bytes and size", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    const content = text("a", 10)
    const { gen, run } = await readBySource(s, log, content)
    await run.stop()
    copyFileSync(log, s.file("app.log.1"))
    writeFileSync(log, "b line 0\n") // truncated and rewritten: same inode, other first bytes
    expect(where(s, gen, 20)).toEqual({ path: s.file("app.log.1"), rotated: true })
    unlinkSync(s.file("app.log.1"))
    expect(where(s, gen, 20)).toEqual({ gone: GONE.rewritten })
  })

  test("deleted, or rotated and compressed: gone", async () => {
    await using s = sandbox()
    const log = s.file("app.log")
    const { gen } = await readBySource(s, log, text("a", 10))
    renameSync(log, s.file("app.log.1"))
    writeFileSync(s.file("app.log.1.gz"), Bun.gzipSync(readFileSync(s.file("app.log.1"))))
    unlinkSync(s.file("app.log.1"))
    expect(where(s, gen, 0)).toEqual({ gone: GONE.rotated })
  })

  test("a copy outside the file's directory is never looked at", async () => {
    await using s = sandbox()
    mkdirSync(s.file("logs"))
    mkdirSync(s.file("elsewhere"))
    const log = s.file("logs/app.log")
    const { gen } = await readBySource(s, log, text("a", 10))
    copyFileSync(log, s.file("elsewhere/app.log.1"))
    copyFileSync(log, s.file("app.log.1")) // the parent directory
    unlinkSync(log)
    expect(where(s, gen, 0)).toEqual({ gone: GONE.rotated })
  })

  test("a generation the agent has no row for", async () => {
    await using s = sandbox()
    expect(where(s, crypto.randomUUID(), 0)).toEqual({ gone: GONE.unknown })
  })
})
