import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { appendFileSync, copyFileSync, rmSync, truncateSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type Child, waitFor } from "../../test/harness/index.ts"
import { type AgentRig, startAgentRig } from "./test-support.ts"

// Starts real nats-server and agent processes: give a busy 2-core machine room.
setDefaultTimeout(60_000)

async function mkfifo(path: string): Promise<void> {
  const proc = Bun.spawn(["mkfifo", path], { stderr: "pipe" })
  if ((await proc.exited) !== 0) throw new Error(`mkfifo ${path}: ${await new Response(proc.stderr).text()}`)
}

const texts = async (rig: AgentRig) => (await rig.shipped()).map((l) => l.text)

/** SIGTERM must end the agent within a few seconds; a frozen event loop would ignore it. */
async function expectPromptExit(child: Child): Promise<void> {
  const started = performance.now()
  child.proc.kill("SIGTERM")
  const code = await Promise.race([child.proc.exited, Bun.sleep(8000).then(() => "still running")])
  expect(code).toBe(0)
  expect(performance.now() - started).toBeLessThan(8000)
}

const linesAbout = async (child: Child, needle: string) =>
  (await Bun.file(child.logPath).text()).split("\n").filter((l) => l.includes(needle))

describe("the agent and files that are not regular files", () => {
  test("a FIFO matched by the glob, next to a file that is copytruncated: shipping goes on, SIGTERM exits", async () => {
    await using rig = await startAgentRig()
    const log = join(rig.logsDir, "a.log")
    const fifo = join(rig.logsDir, "pipe.log")
    writeFileSync(log, "a1\na2\n")
    await mkfifo(fifo)
    const agent = await rig.start(rig.config([{ name: "app", paths: [join(rig.logsDir, "*.log")] }]))
    await waitFor("a1, a2", async () => (await texts(rig)).length === 2)
    // copytruncate: looking for the copy opens every sibling, the FIFO included
    copyFileSync(log, `${log}.1`)
    truncateSync(log, 0)
    appendFileSync(log, "b1\n")
    await waitFor("b1", async () => (await texts(rig)).includes("b1"))
    appendFileSync(log, "b2\n")
    await waitFor("b2", async () => (await texts(rig)).includes("b2"))
    expect(await texts(rig)).toEqual(["a1", "a2", "b1", "b2"])
    expect(await linesAbout(agent, fifo)).toEqual([
      expect.stringContaining(`${fifo}: a FIFO, not a regular file`),
    ])
    await expectPromptExit(agent)
  })

  test("a FIFO as a literal path is skipped with one line; the other path ships; SIGTERM exits", async () => {
    await using rig = await startAgentRig()
    const fifo = join(rig.logsDir, "fifo.log")
    const other = join(rig.logsDir, "other.log")
    await mkfifo(fifo)
    writeFileSync(other, "o1\n")
    const agent = await rig.start(rig.config([{ name: "app", paths: [fifo, other] }]))
    await waitFor("o1", async () => (await texts(rig)).includes("o1"))
    appendFileSync(other, "o2\n")
    await waitFor("o2", async () => (await texts(rig)).includes("o2"))
    expect(await linesAbout(agent, "not a regular file")).toEqual([
      expect.stringContaining(`logs[app]: skipping ${fifo}: a FIFO, not a regular file`),
    ])
    await expectPromptExit(agent)
  })

  test("a file replaced by a FIFO while the agent was down: restore skips it, the rest ships", async () => {
    await using rig = await startAgentRig()
    const log = join(rig.logsDir, "a.log")
    const other = join(rig.logsDir, "other.log")
    writeFileSync(log, "a1\n")
    writeFileSync(other, "o1\n")
    const config = rig.config([{ name: "app", paths: [log, other] }])
    const first = await rig.start(config)
    await waitFor("a1, o1", async () => (await texts(rig)).length === 2)
    await expectPromptExit(first)
    rmSync(log)
    await mkfifo(log)
    appendFileSync(other, "o2\n")
    const second = await rig.start(config)
    await waitFor("o2", async () => (await texts(rig)).includes("o2"))
    expect(await linesAbout(second, `skipping ${log}`)).toHaveLength(1)
    await expectPromptExit(second)
  })

  test("a directory as a literal path is skipped with one line naming it", async () => {
    await using rig = await startAgentRig()
    const other = join(rig.logsDir, "other.log")
    writeFileSync(other, "o1\n")
    const agent = await rig.start(rig.config([{ name: "app", paths: [rig.logsDir, other] }]))
    await waitFor("o1", async () => (await texts(rig)).includes("o1"))
    expect(await linesAbout(agent, "not a regular file")).toEqual([
      expect.stringContaining(`skipping ${rig.logsDir}: a directory, not a regular file`),
    ])
    await expectPromptExit(agent)
  })
})
