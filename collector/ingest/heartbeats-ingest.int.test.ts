import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { parseConfig } from "../../shared/config/load.ts"
import { silentLogger } from "../../shared/logger.ts"
import { formatPublicKeyLine, keyId, publicKeyFromRaw } from "../../shared/protocol/keys.ts"
import {
  entriesEnvelope,
  type NatsServer,
  newTestKey,
  publishEnvelope,
  startNatsServer,
  tempDir,
  waitFor,
} from "../../test/harness/index.ts"
import { type CollectorConfig, CollectorConfigSchema } from "../config/schema.ts"
import { createHeartbeatsKind, type HeartbeatsKind } from "../kinds/heartbeats/index.ts"
import { heartbeat } from "../kinds/heartbeats/test-helpers.ts"
import type { EntryKindModule } from "../kinds/kind.ts"
import { urlsKind } from "../kinds/urls/index.ts"
import { createCollectorMetrics } from "../metrics/collector-metrics.ts"
import { DuckDbWriter } from "../sinks/duckdb/writer.ts"
import type { Enrollment } from "./enrollment.ts"
import { startIngestLoop } from "./ingest-loop.ts"
import { Quarantine } from "./quarantine.ts"
import { StorageHealth } from "./storage-health.ts"
import { ensureStreamAndConsumer } from "./stream-setup.ts"

// Real nats-server and DuckDB; ingest restarted on the same file.
setDefaultTimeout(60_000)

const keys = { "edge-1": newTestKey(), "edge-2": newTestKey() }
type Agent = keyof typeof keys
const enrollment: Enrollment = new Map(
  Object.entries(keys).map(([agent, k]) => [
    agent,
    new Map([[keyId(k.publicKeyRaw), publicKeyFromRaw(k.publicKeyRaw)]]),
  ]),
)

/**
 * The collector's ingest path (stream setup, consume, verify, the writer with the registry's kinds), without its
 * HTTP and local nats-server: the heartbeats kind is passed in, so that the test can read its presence.
 */
async function startIngest(nc: NatsConnection, config: CollectorConfig, path: string) {
  const jsm = await jetstreamManager(nc)
  await ensureStreamAndConsumer(jsm, config)
  const js = jetstream(nc)
  const consumer = await js.consumers.get(config.stream.name, config.consumer.durable_name)
  const kind: HeartbeatsKind = createHeartbeatsKind()
  const writer = await DuckDbWriter.open(path, {
    kinds: [urlsKind as unknown as EntryKindModule, kind as unknown as EntryKindModule],
  })
  const metrics = createCollectorMetrics()
  const abort = new AbortController()
  const c = config.consumer
  const loop = startIngestLoop(
    {
      nc,
      consumer,
      writer,
      enrollment: () => enrollment,
      metrics,
      quarantine: new Quarantine({
        js,
        jsm,
        stream: config.quarantine.stream,
        subjectRoot: config.quarantine.subject_root,
      }),
      storage: new StorageHealth(silentLogger),
      maxEnvelopeBytes: config.max_envelope_bytes,
      batchMaxMessages: c.batch_max_messages,
      batchMaxBytes: c.batch_max_bytes,
      maxAckPending: c.max_ack_pending,
      batchMaxWaitMs: c.batch_max_wait_ms,
      pullMaxBytes: c.pull_max_bytes,
      ackWaitMs: c.ack_wait_s * 1000,
      log: silentLogger,
      logReject: () => {},
    },
    abort.signal,
  )
  return {
    kind,
    writer,
    metrics,
    async stop() {
      abort.abort()
      await loop.done
      await writer.close()
    },
  }
}

describe("heartbeats through ingest: signed envelopes from a real nats-server into history and presence", () => {
  let nats: NatsServer
  let dir: ReturnType<typeof tempDir>
  let nc: NatsConnection
  let config: CollectorConfig
  let ingest: Awaited<ReturnType<typeof startIngest>>
  let seq = 1

  const path = () => join(dir.path, "outpost.duckdb")
  const publish = (agent: Agent, entries: ReturnType<typeof heartbeat>[]) =>
    publishEnvelope(
      jetstream(nc),
      entriesEnvelope({ agent, key: keys[agent], seq: seq++, kind: "heartbeats", entries }),
    )
  const drained = () =>
    waitFor("the consumer to be drained", async () => {
      const info = await (await jetstreamManager(nc)).consumers.info("OUTPOST", "collector")
      return info.num_pending === 0 && info.num_ack_pending === 0
    })
  const presence = () =>
    ingest.writer.query("SELECT agent, host, entry_id, interval_s FROM agent_presence ORDER BY agent")

  beforeAll(async () => {
    nats = await startNatsServer()
    dir = tempDir()
    const enrolled = join(dir.path, "enrolled_keys")
    writeFileSync(
      enrolled,
      Object.entries(keys)
        .map(([agent, k]) => `${formatPublicKeyLine(k.publicKeyRaw, agent)}\n`)
        .join(""),
    )
    config = parseConfig(
      {
        data_dir: dir.path,
        enrolled_keys: enrolled,
        nats: { url: nats.url },
        // a wait long enough that envelopes published together share one batch (one DuckDB transaction)
        consumer: { batch_max_wait_ms: 300 },
      },
      CollectorConfigSchema,
    )
    nc = await connect({ servers: nats.url })
    ingest = await startIngest(nc, config, path())
  })
  afterAll(async () => {
    await ingest?.stop()
    await nc?.close()
    await nats?.[Symbol.asyncDispose]()
    await dir?.[Symbol.asyncDispose]()
  })

  test("two agents published together: every heartbeat in history, the newest of each in presence; republished ids add nothing", async () => {
    await Promise.all([
      publish("edge-1", [heartbeat(1), heartbeat(2)]),
      publish("edge-2", [heartbeat(1, { interval_s: 5 })]),
      // edge-1 restarted after the ack of the first envelope, before removing its entries: the same ids again
      publish("edge-1", [heartbeat(1), heartbeat(2), heartbeat(3)]),
    ])
    await drained()
    expect(
      await ingest.writer.query("SELECT agent, entry_id, host FROM agent_heartbeats ORDER BY ALL"),
    ).toEqual([
      { agent: "edge-1", entry_id: 1, host: "test-host" },
      { agent: "edge-1", entry_id: 2, host: "test-host" },
      { agent: "edge-1", entry_id: 3, host: "test-host" },
      { agent: "edge-2", entry_id: 1, host: "test-host" },
    ])
    expect(await presence()).toEqual([
      { agent: "edge-1", host: "test-host", entry_id: 3, interval_s: 10 },
      { agent: "edge-2", host: "test-host", entry_id: 1, interval_s: 5 },
    ])
    expect([...ingest.kind.presence()].map(([agent, p]) => [agent, p.entryId, p.intervalS])).toEqual([
      ["edge-1", 3, 10],
      ["edge-2", 1, 5],
    ])
    expect(
      ingest.metrics.registry.value("outpost_collector_entries_written_total", { kind: "heartbeats" }),
    ).toBe(4)
  })

  test("a heartbeat the kind refuses makes its envelope bad_body; the others of the batch are stored", async () => {
    const bad = await publish("edge-2", [heartbeat(2), heartbeat(3, { interval_s: 0 })])
    await publish("edge-1", [heartbeat(4)])
    await drained()
    const errors = await ingest.writer.query(
      `SELECT reason, message FROM processing_errors WHERE stream_seq = ${bad.seq}`,
    )
    expect(errors.map((e) => e.reason)).toEqual(["bad_body"])
    expect(String(errors[0]?.message)).toContain("entry 1 (id 3): interval_s must be")
    expect(
      await ingest.writer.query("SELECT count(*) AS n FROM agent_heartbeats WHERE agent = 'edge-2'"),
    ).toEqual([{ n: 1 }])
    expect((await presence()).map((p) => p.entry_id)).toEqual([4, 1])
  })

  test("after a restart presence is loaded; a late heartbeat is history only, a newer one moves presence", async () => {
    await ingest.stop()
    ingest = await startIngest(nc, config, path())
    expect([...ingest.kind.presence()].map(([agent, p]) => [agent, p.entryId])).toEqual([
      ["edge-1", 4],
      ["edge-2", 1],
    ])
    await publish("edge-1", [heartbeat(5)])
    await publish("edge-2", [heartbeat(6)])
    await drained()
    // An id of edge-2 never stored before (its envelope was refused above) arriving after a newer one.
    await publish("edge-2", [heartbeat(2)])
    await drained()
    expect((await presence()).map((p) => p.entry_id)).toEqual([5, 6])
    expect(ingest.kind.presence().get("edge-2")?.entryId).toBe(6)
    expect(
      await ingest.writer.query("SELECT entry_id FROM agent_heartbeats WHERE agent = 'edge-2' ORDER BY 1"),
    ).toEqual([{ entry_id: 1 }, { entry_id: 2 }, { entry_id: 6 }])
  })
})
