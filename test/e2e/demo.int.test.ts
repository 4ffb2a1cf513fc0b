import { expect, setDefaultTimeout, test } from "bun:test"
import { join } from "node:path"
import { freePort, tempDir } from "../harness/index.ts"

// Starts real nats-server, DuckDB and processes: give a busy 2-core machine room.
setDefaultTimeout(60_000)

test("the README's demo starts nats-server, collector and agent, and lines reach DuckDB", async () => {
  await using dir = tempDir("outpost-demo-")
  const args = ["--seconds", "6", "--dir", dir.path, "--http-port", String(await freePort())]
  const proc = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "../../scripts/demo.ts"),
      ...args,
      "--nats-port",
      String(await freePort()),
    ],
    { stdout: "pipe", stderr: "pipe" },
  )
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited])
  expect(code).toBe(0)
  expect(out).toContain("/sql?q=")
  const landed = Number(/demo stopped: (\d+) log lines/.exec(out)?.[1] ?? 0)
  expect(landed).toBeGreaterThan(50)
})
