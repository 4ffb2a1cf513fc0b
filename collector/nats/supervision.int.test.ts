import { afterEach, expect, setDefaultTimeout, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import type { Subprocess } from "bun"
import { natsServerPath } from "../../shared/nats-server-path.ts"
import { freePort, tempDir, waitFor } from "../../test/harness/index.ts"
import type { LocalNatsServer } from "./local-server.ts"
import { connectAsCollector, createStream, startTestServer } from "./test-fixture.ts"

setDefaultTimeout(60_000)

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`).length > 0
  } catch {
    return false
  }
}

async function started(dir: string, port?: number) {
  const t = await startTestServer(dir, [], port ? { port } : {})
  cleanups.push(() => t.server.stop())
  return t
}

function pidOf(server: LocalNatsServer): number {
  if (server.pid === undefined) throw new Error("nats-server is down")
  return server.pid
}

test("kill -9 of nats-server: it is logged, comes back on the same port, the client reconnects, the stream is intact", async () => {
  const dir = tempDir("outpost-supervise-")
  cleanups.push(() => dir[Symbol.asyncDispose]())
  const restarted: number[] = []
  const t = await startTestServer(dir.path, [], { onRestart: (n) => restarted.push(n) })
  cleanups.push(() => t.server.stop())
  const nc = await connectAsCollector(t.server, { maxReconnectAttempts: -1, reconnectTimeWait: 100 })
  cleanups.push(() => nc.close())
  await createStream(nc)
  await jetstream(nc).publish("outpost.logs.a", "kept")
  const firstPid = pidOf(t.server)
  const reconnected = (async () => {
    for await (const s of nc.status()) if (s.type === "reconnect") return true
  })()

  process.kill(firstPid, "SIGKILL")
  await waitFor("the restart", () => restarted.length === 1)
  expect(t.server.up).toBe(true)
  expect(t.server.restarts).toBe(1)
  expect(t.server.pid).not.toBe(firstPid)
  expect(t.logs.join("\n")).toContain(
    `local nats-server (pid ${firstPid}) exited unexpectedly (signal SIGKILL)`,
  )
  expect(t.logs.join("\n")).toContain("Server is ready") // its last stderr lines are in the report
  expect(t.server.url).toBe(`nats://127.0.0.1:${t.port}`)
  expect(await reconnected).toBe(true)
  const info = await (await jetstreamManager(nc)).streams.info("OUTPOST")
  expect(info.state.messages).toBe(1)
  expect(t.fatal).toEqual([])
})

test("a server that cannot be restarted 5 times in a row calls onFatal", async () => {
  const dir = tempDir("outpost-supervise-fatal-")
  cleanups.push(() => dir[Symbol.asyncDispose]())
  const t = await started(dir.path)
  process.kill(pidOf(t.server), "SIGKILL")
  await waitFor("the exit to be seen", () => !t.server.up)
  // Something else takes the port before the first restart (0.5 s later): every restart fails.
  let squatter: { stop(closeActive?: boolean): void } | undefined
  await waitFor("the port to be taken", () => {
    squatter = Bun.listen({ hostname: "127.0.0.1", port: t.port, socket: { data() {} } })
    return true
  })
  cleanups.push(() => squatter?.stop(true))
  await waitFor("onFatal", () => t.fatal.length === 1, 45_000)
  expect(t.fatal[0]?.message).toContain("could not be restarted 5 times in a row")
  expect(t.fatal[0]?.message).toContain("address already in use")
  expect(t.logs.filter((l) => l.startsWith("cannot restart local nats-server")).length).toBe(5)
  expect(t.server.up).toBe(false)
})

test("a collector killed with SIGKILL takes its nats-server with it, which lived as long as the collector did", async () => {
  const dir = tempDir("outpost-supervise-orphan-")
  cleanups.push(() => dir[Symbol.asyncDispose]())
  const port = await freePort()
  const helper = Bun.spawn(
    [process.execPath, join(import.meta.dir, "test-server-helper.ts"), dir.path, String(port)],
    { stdout: "pipe", stderr: "pipe" },
  )
  cleanups.push(() => helper.kill("SIGKILL"))
  const lines = readLines(helper)
  const ready = await lines.next(/^ready (\d+)$/)
  const natsPid = Number(ready[1])
  expect(alive(natsPid)).toBe(true)
  // nats-server must not die while its parent lives, long after the code that spawned it returned
  expect((await lines.next(/^(alive|gone) \d+$/))[1]).toBe("alive")

  helper.kill("SIGKILL")
  await helper.exited
  await waitFor(`nats-server pid ${natsPid} to be gone`, () => !alive(natsPid))

  // and the next collector gets the port
  const t = await started(dir.path, port)
  expect(t.logs.join("\n")).not.toContain("previous collector run")
})

test("a nats-server left over from a previous run (pid file) is stopped and its port reclaimed", async () => {
  const dir = tempDir("outpost-supervise-leftover-")
  cleanups.push(() => dir[Symbol.asyncDispose]())
  const first = await started(dir.path)
  await first.server.stop()
  // What a crashed collector without a parent-death signal leaves: nats-server with our config, still running.
  const leftover = Bun.spawn([natsServerPath(), "-c", join(dir.path, "nats/nats-server.conf")], {
    stdout: "ignore",
    stderr: "ignore",
  })
  cleanups.push(() => leftover.kill("SIGKILL"))
  await waitFor(
    "the leftover's pid file",
    () => readFileSync(join(dir.path, "nats/nats-server.pid"), "utf8").trim() === String(leftover.pid),
  )

  const second = await started(dir.path, first.port)
  expect(second.logs.join("\n")).toContain(
    `a nats-server from a previous collector run (pid ${leftover.pid})`,
  )
  await leftover.exited
  expect(leftover.signalCode).toBeNull() // it shut down on SIGTERM, no SIGKILL needed
  expect(second.server.pid).not.toBe(leftover.pid)
  const nc = await connectAsCollector(second.server)
  await nc.close()
})

test("a pid file naming some other live process leaves that process alone", async () => {
  const dir = tempDir("outpost-supervise-stale-")
  cleanups.push(() => dir[Symbol.asyncDispose]())
  const first = await started(dir.path)
  await first.server.stop()
  const bystander = Bun.spawn(["sleep", "60"])
  cleanups.push(() => bystander.kill("SIGKILL"))
  await Bun.write(join(dir.path, "nats/nats-server.pid"), String(bystander.pid))
  const second = await started(dir.path, first.port)
  expect(second.server.up).toBe(true)
  expect(alive(bystander.pid)).toBe(true)
})

/** Reads a child's stdout line by line, waiting for lines that match. */
function readLines(proc: Subprocess<"ignore" | "pipe" | "inherit", "pipe", "pipe">) {
  const reader = proc.stdout.getReader()
  const decoder = new TextDecoder()
  let buffered = ""
  return {
    async next(pattern: RegExp): Promise<RegExpExecArray> {
      for (;;) {
        const lines = buffered.split("\n")
        buffered = lines.pop() ?? ""
        for (const [i, line] of lines.entries()) {
          const match = pattern.exec(line)
          if (match) {
            buffered = `${lines.slice(i + 1).join("\n")}${lines.length > i + 1 ? "\n" : ""}${buffered}`
            return match
          }
        }
        const { value, done } = await reader.read()
        if (done)
          throw new Error(
            `helper exited before printing ${pattern}: ${await new Response(proc.stderr).text()}`,
          )
        buffered += decoder.decode(value, { stream: true })
      }
    },
  }
}
