import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdirSync } from "node:fs"
import {
  createPipeline,
  expectExactlyWritten,
  LogWriter,
  type NatsServer,
  type Pipeline,
  queryNumber,
  startNatsServer,
  tempDir,
  waitFor,
} from "../harness/index.ts"

// Starts real nats-server, DuckDB and processes: give a busy 2-core machine room.
setDefaultTimeout(60_000)

describe("NATS outage", () => {
  const dir = tempDir("outpost-outage-")
  let nats: NatsServer | undefined
  let pipeline: Pipeline | undefined

  afterAll(async () => {
    await pipeline?.stopAll()
    await nats?.[Symbol.asyncDispose]()
    if (!process.env.OUTPOST_KEEP_TEST_DIR) await dir[Symbol.asyncDispose]()
  })

  test("lines written while nats-server is down arrive once it is back: nothing lost, nothing duplicated", async () => {
    nats = await startNatsServer()
    const p = await createPipeline({ dir: dir.path, nats })
    pipeline = p
    mkdirSync(p.logsDir, { recursive: true })
    const logs = new LogWriter(p.logsDir)
    const count = () => queryNumber(p.httpUrl, "SELECT count(*) AS n FROM logs")
    await p.startCollector()
    const agent = await p.startAgent()
    logs.append("a", 300)
    logs.append("b", 300)
    await waitFor("first rows", async () => (await count()) === 600, 30_000)

    await nats.stop()
    logs.append("a", 500)
    logs.append("b", 200)
    // The agent has read the new lines and is retrying their publish: the outage is real.
    await waitFor(
      "a failed publish",
      async () => (await Bun.file(agent.logPath).text()).includes("failed (attempt"),
      30_000,
    )
    logs.append("a", 100)
    await nats.start()

    await waitFor(`all ${logs.total} rows`, async () => (await count().catch(() => 0)) >= logs.total, 60_000)
    expect(await count()).toBe(logs.total)
    await expectExactlyWritten(p.httpUrl, logs.written)
  })
})
