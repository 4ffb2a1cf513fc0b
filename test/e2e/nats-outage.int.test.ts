import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import {
  expectExactlyWritten,
  type PipelineFixture,
  startPipelineFixture,
  waitFor,
} from "../harness/index.ts"

// Starts real nats-server, DuckDB and processes: give a busy 2-core machine room.
setDefaultTimeout(60_000)

describe("NATS outage", () => {
  let fixture: PipelineFixture | undefined
  afterAll(() => fixture?.dispose())

  test("lines written while nats-server is down arrive once it is back: nothing lost, nothing duplicated", async () => {
    fixture = await startPipelineFixture("outpost-outage-")
    const { nats, pipeline: p, logs, count } = fixture
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
