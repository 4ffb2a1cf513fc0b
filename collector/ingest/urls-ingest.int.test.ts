import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { parseConfig } from "../../shared/config/load.ts"
import { formatPublicKeyLine } from "../../shared/protocol/keys.ts"
import {
  entriesEnvelope,
  logsEnvelope,
  type NatsServer,
  newTestKey,
  publishEnvelope,
  queryNumber,
  querySql,
  recordingLogger,
  startNatsServer,
  tempDir,
  urlResult,
  waitFor,
} from "../../test/harness/index.ts"
import { type CollectorConfig, CollectorConfigSchema } from "../config/schema.ts"
import { heartbeat } from "../kinds/heartbeats/test-helpers.ts"
import { type RunningCollector, startCollector } from "../service.ts"

// Real nats-server, DuckDB and collector restarts.
setDefaultTimeout(60_000)

const key = newTestKey()

describe("an outbox kind (urls) through ingest: stored once by (agent, kind, id), beside logs", () => {
  let nats: NatsServer
  let dir: ReturnType<typeof tempDir>
  let nc: NatsConnection
  let config: CollectorConfig
  let collector: RunningCollector
  let seq = 1

  const start = async () => {
    collector = await startCollector(config, recordingLogger("collector"))
  }
  const drained = () =>
    waitFor("the consumer to be drained", async () => {
      const info = await (await jetstreamManager(nc)).consumers.info("OUTPOST", "collector")
      return info.num_pending === 0 && info.num_ack_pending === 0
    })
  const sql = (q: string) => queryNumber(collector.httpUrl, q)
  const publish = (env: Parameters<typeof publishEnvelope>[1]) => publishEnvelope(jetstream(nc), env)
  const urls = (ids: number[], dropped?: { count: number; before_id: number }) =>
    entriesEnvelope({
      agent: "edge-1",
      key,
      seq: seq++,
      kind: "urls",
      entries: ids.map((id) => urlResult(id)),
      dropped,
    })

  beforeAll(async () => {
    nats = await startNatsServer()
    dir = tempDir()
    const keys = join(dir.path, "enrolled_keys")
    writeFileSync(keys, `${formatPublicKeyLine(key.publicKeyRaw, "edge-1")}\n`)
    config = parseConfig(
      {
        data_dir: dir.path,
        enrolled_keys: keys,
        nats: { url: nats.url },
        http: { port: 0 },
        // a wait long enough that envelopes published together share one batch (one DuckDB transaction)
        consumer: { batch_max_wait_ms: 300 },
      },
      CollectorConfigSchema,
    )
    await start()
    nc = await connect({ servers: nats.url })
  })
  afterAll(async () => {
    await nc?.close()
    await collector?.stop()
    await nats?.[Symbol.asyncDispose]()
    await dir?.[Symbol.asyncDispose]()
  })

  test("logs and urls in one batch; ids seen again (an agent that republished after a crash) add nothing", async () => {
    await Promise.all([
      publish(logsEnvelope({ agent: "edge-1", key, seq: seq++, lines: ["a log line"] })),
      publish(urls([1, 2, 3])),
      publish(urls([2, 3, 4, 5])),
    ])
    await drained()
    expect(await sql("SELECT count(*) AS n FROM logs")).toBe(1)
    expect(await sql("SELECT count(*) AS n FROM url_checks")).toBe(5)
    expect(await sql("SELECT count(DISTINCT entry_id) AS n FROM url_checks")).toBe(5)
    const coverage = await querySql(
      collector.httpUrl,
      "SELECT agent, kind, start_id, end_id FROM entry_coverage",
    )
    expect(coverage).toEqual([{ agent: "edge-1", kind: "urls", start_id: 1, end_id: 6 }])
    const metrics = await (await fetch(`${collector.httpUrl}/metrics`)).text()
    expect(metrics).toContain('outpost_collector_entries_written_total{kind="urls"} 5')
  })

  test("dedup by id survives a collector restart; a dropped report is recorded once as a gap", async () => {
    await collector.stop()
    await start()
    await publish(urls([1, 2, 3, 4, 5, 6], { count: 4, before_id: 11 }))
    await publish(urls([11, 12]))
    await drained()
    expect(await sql("SELECT count(*) AS n FROM url_checks")).toBe(8)
    const gaps = await querySql(collector.httpUrl, "SELECT agent, kind, dropped, before_id FROM entry_gaps")
    expect(gaps).toEqual([{ agent: "edge-1", kind: "urls", dropped: 4, before_id: 11 }])
    const metrics = await (await fetch(`${collector.httpUrl}/metrics`)).text()
    expect(metrics).toContain('outpost_collector_entries_dropped_total{kind="urls"} 4')
  })

  test("the running collector stores every registered kind: heartbeats beside urls in one batch", async () => {
    await Promise.all([
      publish(urls([40, 41])),
      publish(
        entriesEnvelope({ agent: "edge-1", key, seq: seq++, kind: "heartbeats", entries: [heartbeat(1)] }),
      ),
    ])
    await drained()
    expect(await sql("SELECT count(*) AS n FROM agent_heartbeats WHERE agent = 'edge-1'")).toBe(1)
    expect(await sql("SELECT entry_id AS n FROM agent_presence WHERE agent = 'edge-1'")).toBe(1)
    expect(await sql("SELECT count(*) AS n FROM processing_errors")).toBe(0)
  })

  test("a kind the collector does not store is unsupported_kind; a bad entry is bad_body; both recorded once", async () => {
    const unstored = await publish(
      entriesEnvelope({ agent: "edge-1", key, seq: seq++, kind: "rows", entries: [{ id: 1 }] }),
    )
    const bad = await publish(
      entriesEnvelope({
        agent: "edge-1",
        key,
        seq: seq++,
        kind: "urls",
        entries: [{ ...urlResult(20), outcome: "sideways" } as unknown as ReturnType<typeof urlResult>],
      }),
    )
    await drained()
    const errors = await querySql(
      collector.httpUrl,
      `SELECT reason, stream_seq, message FROM processing_errors WHERE stream_seq IN (${unstored.seq}, ${bad.seq}) ORDER BY stream_seq`,
    )
    expect(errors.map((e) => e.reason)).toEqual(["unsupported_kind", "bad_body"])
    expect(String(errors[1]?.message)).toContain("entry 0 (id 20): outcome must be one of up, degraded, down")
    expect(await sql("SELECT count(*) AS n FROM url_checks WHERE entry_id = 20")).toBe(0)
  })
})
