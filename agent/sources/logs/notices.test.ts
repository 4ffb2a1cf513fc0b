import { describe, expect, test } from "bun:test"
import { rmSync, writeFileSync } from "node:fs"
import { waitFor } from "../../../test/harness/index.ts"
import { sandbox } from "./test-support.ts"

describe("paths and globs that match nothing", () => {
  test("a glob says so once at start, again when files appear, and when they are all gone", async () => {
    await using s = sandbox()
    const glob = s.file("*.log")
    const run = s.start({ name: "app", paths: [glob] })
    await run.afterScans(5)
    expect(run.logs).toEqual([`logs[app]: ${glob} matches no file yet`]) // once, not once per poll
    writeFileSync(s.file("a.log"), "a1\n")
    writeFileSync(s.file("b.log"), "b1\n")
    await waitFor("both files", () => run.lines().length === 2)
    await run.afterScans(3)
    const matches = () =>
      run.events.filter((e) => e.message.startsWith(glob)).map((e) => `${e.level} ${e.message}`)
    const appeared = matches().slice(1)
    // the watcher may see one file before the other: then it says 1, and stays quiet when the second comes
    expect(appeared).toHaveLength(1)
    expect([`info ${glob} now matches 1 file`, `info ${glob} now matches 2 files`]).toContain(
      appeared[0] ?? "",
    )
    rmSync(s.file("a.log"))
    rmSync(s.file("b.log"))
    await waitFor("all gone", () => matches().length === 3)
    expect(matches()[2]).toBe(`warn ${glob} matches no file any more`)
    expect(run.logs).toEqual([
      `logs[app]: ${glob} matches no file yet`,
      `logs[app]: ${glob} matches no file any more`,
    ])
    await run.afterScans(3)
    expect(matches()).toHaveLength(3)
  })

  test("a literal path that does not exist yet says so once; each configured path speaks for itself", async () => {
    await using s = sandbox()
    const missing = s.file("later.log")
    const present = s.file("here.log")
    writeFileSync(present, "h1\n")
    const run = s.start({ name: "app", paths: [missing, present] })
    await waitFor("h1", () => run.lines().length === 1)
    await run.afterScans(3)
    expect(run.logs).toEqual([`logs[app]: ${missing} matches no file yet`])
    writeFileSync(missing, "l1\n")
    await waitFor("l1", () => run.lines().length === 2)
    expect(run.logs).toEqual([`logs[app]: ${missing} matches no file yet`])
    expect(
      run.events.filter((e) => e.message.includes(" matches ")).map((e) => `${e.level} ${e.message}`),
    ).toEqual([`warn ${missing} matches no file yet`, `info ${missing} now matches 1 file`])
  })
})
