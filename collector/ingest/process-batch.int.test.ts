import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { join } from "node:path"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { silentLogger } from "../../shared/logger.ts"
import { keyId, publicKeyFromRaw } from "../../shared/protocol/keys.ts"
import { logsEnvelope, newTestKey } from "../../test/harness/envelopes.ts"
import { type NatsServer, startNatsServer, tempDir } from "../../test/harness/index.ts"
import { createCollectorMetrics } from "../metrics/collector-metrics.ts"
import { DuckDbWriter } from "../sinks/duckdb/writer.ts"
import type { Delivery } from "./delivery.ts"
import type { Enrollment } from "./enrollment.ts"
import { type BatchContext, processBatch } from "./process-batch.ts"
import type { Quarantine } from "./quarantine.ts"
import { StorageHealth } from "./storage-health.ts"

// Starts a real nats-server and DuckDB file.
setDefaultTimeout(60_000)

const key = newTestKey()
const enrollment: Enrollment = new Map([
  ["edge-1", new Map([[keyId(key.publicKeyRaw), publicKeyFromRaw(key.publicKeyRaw)]])],
])

/** A delivery of one stream message that records how it was settled. */
function delivery(streamSeq: number, redelivered: boolean, seq = 1): Delivery & { settled: string[] } {
  const env = logsEnvelope({ agent: "edge-1", key, seq, lines: ["one", "two"] })
  const settled: string[] = []
  return {
    source: "stream",
    incoming: { subject: env.subject, headers: env.headers, data: env.body, streamSeq, redelivered },
    deliveryCount: redelivered ? 2 : 1,
    ack: () => settled.push("ack"),
    term: () => settled.push("term"),
    retry: (ms) => settled.push(`retry ${ms}`),
    settled,
  }
}

describe("processBatch settles each message once its batch committed", () => {
  let nats: NatsServer
  let nc: NatsConnection
  let dir: ReturnType<typeof tempDir>
  let writer: DuckDbWriter
  let ctx: BatchContext

  beforeAll(async () => {
    nats = await startNatsServer()
    nc = await connect({ servers: nats.url })
    dir = tempDir()
    writer = await DuckDbWriter.open(join(dir.path, "t.duckdb"))
    const metrics = createCollectorMetrics()
    ctx = {
      nc,
      writer,
      enrollment: () => enrollment,
      metrics,
      // Not reached: nothing here is refused for a reason that quarantines.
      quarantine: {} as Quarantine,
      storage: new StorageHealth(silentLogger),
      maxEnvelopeBytes: 1 << 20,
      log: silentLogger,
      logReject: () => {},
      signal: new AbortController().signal,
    }
  })
  afterAll(async () => {
    await writer?.close()
    await nc?.close()
    await nats?.[Symbol.asyncDispose]()
    await dir?.[Symbol.asyncDispose]()
  })

  const rows = async () => Number((await writer.query("SELECT count(*) AS n FROM log_lines"))[0]?.n)

  test("a message delivered again after its commit (its ack was lost) is acked as a duplicate, not stored again", async () => {
    const first = delivery(10, false)
    await processBatch(ctx, [first])
    expect(first.settled).toEqual(["ack"])
    expect(await rows()).toBe(2)

    // Redelivered (the ack never reached the server, or the collector died right after the commit).
    const again = delivery(10, true)
    await processBatch(ctx, [again])
    expect(again.settled).toEqual(["ack"])
    // Delivered again with its delivery count lost: the same stream sequence still marks it a duplicate.
    const sameSeq = delivery(10, false)
    await processBatch(ctx, [sameSeq])
    expect(sameSeq.settled).toEqual(["ack"])
    expect(await rows()).toBe(2)
    expect(ctx.metrics.registry.sum("outpost_collector_envelopes_duplicate_total")).toBe(2)
  })

  test("the same envelope id as a new stream message is a replay: terminated and recorded, not acked", async () => {
    const replay = delivery(11, false)
    await processBatch(ctx, [replay])
    expect(replay.settled).toEqual(["term"])
    const errors = await writer.query("SELECT reason, stream_seq FROM processing_errors")
    expect(errors).toEqual([{ reason: "replayed", stream_seq: 11 }])
    expect(await rows()).toBe(2)
  })
})
