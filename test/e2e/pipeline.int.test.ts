import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import {
  expectExactlyWritten,
  type PipelineFixture,
  queryNumber,
  startPipelineFixture,
  waitFor,
} from "../harness/index.ts"

// Starts real nats-server, DuckDB and processes: give a busy 2-core machine room.
setDefaultTimeout(60_000)

/**
 * The whole spine with real processes: the compiled agent tails three files through rotation by rename,
 * copytruncate, a kill -9 of the agent and one of the collector; DuckDB must end with every line exactly once.
 */
describe("end to end: files -> compiled agent -> JetStream -> collector -> DuckDB", () => {
  let fixture: PipelineFixture | undefined
  afterAll(() => fixture?.dispose())

  test("every line lands exactly once, in order, across rotations and crashes", async () => {
    fixture = await startPipelineFixture("outpost-e2e-", { compiledAgent: true })
    const { pipeline: p, logs, count } = fixture
    const landed = (n: number) => waitFor(`${n} rows`, async () => (await count()) >= n, 30_000)

    await p.startCollector()
    await p.startAgent()
    for (const name of ["a", "b", "c"]) logs.append(name, 400)
    await landed(600)

    // Rename rotation: the writer still appends to the renamed file before reopening.
    logs.append("b", 100)
    const rotated = logs.rotateByRename("b")
    logs.appendTo(rotated, "b", 2)
    logs.append("b", 300)

    // Crash the agent while lines are still arriving, then restart it.
    logs.append("a", 300)
    await p.agent?.kill9()
    logs.append("a", 200)
    logs.append("c", 100)
    await p.startAgent()

    // copytruncate right after a write, so the copy holds lines the agent may not have read yet.
    logs.append("c", 150)
    logs.copyTruncate("c")
    logs.append("c", 250)
    await landed(2000)

    // Crash the collector mid-stream; JetStream keeps what it had not acked.
    await p.collector?.kill9()
    for (const name of ["a", "b", "c"]) logs.append(name, 200)
    await p.startCollector()
    for (const name of ["a", "b", "c"]) logs.append(name, 100)

    await waitFor(`all ${logs.total} rows`, async () => (await count()) >= logs.total, 60_000)
    expect(await count()).toBe(logs.total)
    await expectExactlyWritten(p.httpUrl, logs.written)
    expect(await queryNumber(p.httpUrl, "SELECT count(*) AS n FROM processing_errors")).toBe(0)

    // Graceful stop: both exit 0.
    expect(await p.agent?.stop()).toBe(0)
    expect(await p.collector?.stop()).toBe(0)
  })
})
