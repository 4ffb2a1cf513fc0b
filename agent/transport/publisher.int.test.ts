import { Database } from "bun:sqlite"
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { type JetStreamClient, jetstream, jetstreamManager } from "@nats-io/jetstream"
import type { NatsConnection } from "@nats-io/transport-node"
import { envelopeId, sha256Hex, signEnvelope } from "../../shared/protocol/envelope.ts"
import { generateAgentKeyPair, keyId, loadPrivateKey } from "../../shared/protocol/keys.ts"
import { type NatsServer, startNatsServer, waitFor } from "../../test/harness/index.ts"
import type { LogChunk } from "../sources/source.ts"
import { buildLogsBody } from "./envelope-builder.ts"
import { LogsTransport } from "./logs-transport.ts"
import { connectNats } from "./nats-connection.ts"
import { publishWithRetry } from "./publisher.ts"
import { SequenceAllocator } from "./sequence.ts"

// Starts a real nats-server: give a busy 2-core machine room.
setDefaultTimeout(60_000)

const key = loadPrivateKey(generateAgentKeyPair().privateKeyPem)
const ALARM = "before its first publish: another client published this id; check NATS permissions"

const envelope = (agent: string, seq: number, text: string) =>
  signEnvelope({
    privateKey: key.privateKey,
    keyId: keyId(key.publicKeyRaw),
    agent,
    host: "h",
    kind: "logs",
    seq,
    count: 1,
    sentAt: 1_700_000_000_000,
    body: new TextEncoder().encode(text),
  })

describe("a msg id JetStream already has before the first publish", () => {
  let nats: NatsServer
  let nc: NatsConnection
  let js: JetStreamClient

  beforeAll(async () => {
    nats = await startNatsServer()
    nc = await connectNats([nats.url], "test")
    await (await jetstreamManager(nc)).streams.add({ name: "OUTPOST", subjects: ["outpost.>"] })
    js = jetstream(nc)
  })
  afterAll(async () => {
    await nc?.close()
    await nats?.[Symbol.asyncDispose]()
  })

  test("publishWithRetry: a squatted id is an alarm, logged once and counted, and still counts as published", async () => {
    const env = envelope("squat-1", 1, "the real body")
    // another client gets there first with the same id
    await js.publish(env.subject, new TextEncoder().encode("squatter"), { msgID: env.id })
    const logs: string[] = []
    const stats = { duplicateFirstPublish: 0 }
    await publishWithRetry(env, {
      js,
      timeoutMs: 2000,
      signal: new AbortController().signal,
      log: (m) => logs.push(m),
      stats,
    })
    expect(logs).toEqual([`JetStream already had envelope ${env.id} ${ALARM}`])
    expect(stats.duplicateFirstPublish).toBe(1)
  })

  test("publishWithRetry: a duplicate on a retry (the first attempt got through, its ack was lost) is silent", async () => {
    const env = envelope("retry-1", 1, "body")
    let calls = 0
    // the real server stores the first attempt; only its acknowledgement is lost on the way back
    const lossy = new Proxy(js, {
      get(target, prop, receiver) {
        if (prop !== "publish") return Reflect.get(target, prop, receiver)
        return async (...args: Parameters<JetStreamClient["publish"]>) => {
          const ack = await target.publish(...args)
          if (calls++ === 0) throw new Error("timeout (ack lost)")
          return ack
        }
      },
    })
    const logs: string[] = []
    const stats = { duplicateFirstPublish: 0 }
    const retries: number[] = []
    await publishWithRetry(env, {
      js: lossy,
      timeoutMs: 2000,
      signal: new AbortController().signal,
      log: (m) => logs.push(m),
      stats,
      onRetry: (_e, attempt) => retries.push(attempt),
    })
    expect(retries).toEqual([1])
    expect(logs).toEqual([])
    expect(stats.duplicateFirstPublish).toBe(0)
  })

  test("LogsTransport: the alarm is in its log and stats, and the chunk is still acknowledged", async () => {
    const agent = "squat-2"
    const clock = () => 1_700_000_000_000
    const bytes = new TextEncoder().encode("hello\n")
    const acked: number[] = []
    const chunk: LogChunk = {
      source: "t",
      file: { path: "/x.log", gen: "g" },
      startOffset: 0,
      endOffset: bytes.length,
      lines: 1,
      parts: [{ offset: 0, bytes, raw: true }],
      readAt: clock(),
      ack: () => acked.push(bytes.length),
    }
    // the sequence starts at the clock in microseconds: the transport's first envelope id is known in advance
    const sequence = new SequenceAllocator(new Database(":memory:"), clock)
    const id = envelopeId(agent, clock() * 1000, sha256Hex(buildLogsBody([chunk]).body))
    await js.publish(`outpost.logs.${agent}`, new TextEncoder().encode("squatter"), { msgID: id })

    const logs: string[] = []
    const transport = new LogsTransport({
      agent,
      host: "h",
      keyId: keyId(key.publicKeyRaw),
      privateKey: key.privateKey,
      js,
      sequence,
      // one record fills a batch: with a clock that stands still, max_wait_ms would never pass
      batch: { max_records: 1, max_bytes: 1 << 20, max_wait_ms: 5, max_in_flight: 1 },
      publishTimeoutMs: 2000,
      log: (m, level) => {
        if (level !== "debug") logs.push(m) // the "published envelope" chatter
      },
      now: clock,
    })
    const running = transport.run()
    await transport.emit(chunk)
    await waitFor("the chunk's ack", () => acked.length === 1)
    expect(transport.stats.duplicateFirstPublish).toBe(1)
    expect(transport.stats.envelopes).toBe(1)
    expect(logs).toEqual([`JetStream already had envelope ${id} ${ALARM}`])
    await transport.close(1000, running)
  })
})
