import { Database } from "bun:sqlite"
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import type { NatsConnection } from "@nats-io/transport-node"
import { parseEnvelopeHeaders, verifyEnvelope } from "../../shared/protocol/envelope.ts"
import { generateAgentKeyPair, keyId, loadPrivateKey, publicKeyFromRaw } from "../../shared/protocol/keys.ts"
import { decodeLogsBody } from "../../shared/protocol/logs-body.ts"
import { agentSubject } from "../../shared/protocol/subjects.ts"
import { type NatsServer, startNatsServer, waitFor } from "../../test/harness/index.ts"
import type { LogChunk } from "../sources/source.ts"
import { type BatchLimits, LogsTransport, type LogsTransportOptions } from "./logs-transport.ts"
import { connectNats } from "./nats-connection.ts"
import { SequenceAllocator } from "./sequence.ts"

// Starts real nats-server, DuckDB and processes: give a busy 2-core machine room.
setDefaultTimeout(60_000)

const key = loadPrivateKey(generateAgentKeyPair().privateKeyPem)
const te = new TextEncoder()

function chunk(gen: string, start: number, lines: string[], acked: string[]): LogChunk {
  const bytes = te.encode(lines.map((l) => `${l}\n`).join(""))
  return {
    source: "t",
    file: { path: "/x.log", gen },
    startOffset: start,
    endOffset: start + bytes.length,
    lines: lines.length,
    parts: [{ offset: start, bytes, raw: true }],
    readAt: Date.now(),
    ack: () => acked.push(`${gen}@${start + bytes.length}`),
  }
}

/** A one-line chunk whose ack records `name`. */
const named = (name: string, acked: string[]): LogChunk => ({
  ...chunk(name, 0, [name], []),
  ack: () => acked.push(name),
})

describe("LogsTransport against a real nats-server", () => {
  let nats: NatsServer
  let nc: NatsConnection
  let natsDown = false
  let streams = 0
  const running: { transport: LogsTransport; run: Promise<void> }[] = []

  beforeAll(async () => {
    nats = await startNatsServer()
    nc = await connectNats([nats.url], "test")
  })
  afterEach(async () => {
    // a failed test must not leave the server down or a transport retrying for the next one
    if (natsDown) await natsUp()
    for (const { transport, run } of running.splice(0)) await transport.close(200, run)
  })
  afterAll(async () => {
    await nc?.close()
    await nats?.[Symbol.asyncDispose]()
  })

  const natsStop = async () => {
    natsDown = true
    await nats.stop()
  }
  /** Restarts nats-server and waits until this client is connected again (same connection as the transports'). */
  const natsUp = async () => {
    await nats.start()
    natsDown = false
    // a flush issued before the reconnect is rejected when the client redials: try again until one gets through
    await waitFor("the client to reconnect", () => nc.flush().then(() => true))
  }

  /** Each test publishes as its own agent to its own stream: tests are independent and can run alone (-t). */
  const freshStream = async () => {
    const n = ++streams
    const agent = `edge-${n}`
    const stream = `LOGS_${n}`
    await (await jetstreamManager(nc)).streams.add({ name: stream, subjects: [agentSubject("logs", agent)] })
    return { agent, stream }
  }

  const startTransport = (
    agent: string,
    batch: Partial<BatchLimits> = {},
    publishTimeoutMs = 500,
    extra: Partial<LogsTransportOptions> = {},
  ) => {
    const transport = new LogsTransport({
      agent,
      host: "h",
      keyId: keyId(key.publicKeyRaw),
      privateKey: key.privateKey,
      js: jetstream(nc),
      sequence: new SequenceAllocator(new Database(":memory:")),
      batch: { max_records: 3, max_bytes: 1 << 20, max_wait_ms: 5, max_in_flight: 2, ...batch },
      publishTimeoutMs,
      ...extra,
    })
    const entry = { transport, run: transport.run() }
    running.push(entry)
    return entry
  }

  const streamMessages = async (stream: string) =>
    (await (await jetstreamManager(nc)).streams.info(stream)).state.messages

  test("batches chunks into signed envelopes and acks chunks in emit order after JetStream acked them", async () => {
    const { agent, stream } = await freshStream()
    const { transport } = startTransport(agent)
    const acked: string[] = []
    for (let i = 0; i < 5; i++) await transport.emit(chunk("g1", i * 6, [`l${i}`, `m${i}`], acked))
    await waitFor("5 acks", () => acked.length === 5)
    expect(acked).toEqual(["g1@6", "g1@12", "g1@18", "g1@24", "g1@30"])
    // two lines per chunk and at most 3 records per envelope: one chunk per envelope
    expect(await streamMessages(stream)).toBe(5)
    const jsm = await jetstreamManager(nc)
    const publicKey = publicKeyFromRaw(key.publicKeyRaw)
    const seqs: number[] = []
    for (let i = 0; i < 5; i++) {
      const msg = await jsm.streams.getMessage(stream, { seq: i + 1 })
      if (!msg) throw new Error(`stream message ${i + 1} is missing`)
      const envelope = parseEnvelopeHeaders((name) => msg.header.get(name), msg.subject)
      verifyEnvelope(envelope, msg.data, publicKey)
      expect([envelope.agent, envelope.count]).toEqual([agent, 2])
      seqs.push(envelope.seq)
      const body = decodeLogsBody(msg.data)
      expect(body.manifest.files).toEqual([{ path: "/x.log", gen: "g1" }])
      expect(body.manifest.spans).toEqual([{ f: 0, s: i * 6, e: i * 6 + 6 }])
      expect(Buffer.from(body.payload).toString()).toBe(`l${i}\nm${i}\n`)
    }
    const first = seqs[0] ?? 0
    expect(seqs).toEqual([first, first + 1, first + 2, first + 3, first + 4]) // in stream order, none skipped
  })

  test("while nats-server is down nothing is acked; after it returns every chunk is published and acked in order", async () => {
    const { agent, stream } = await freshStream()
    const { transport } = startTransport(agent)
    const acked: string[] = []
    await natsStop()
    for (let i = 0; i < 4; i++) await transport.emit(chunk("g2", i * 4, [`x${i}`], acked))
    await waitFor("a retry", () => transport.stats.retries > 0)
    expect(acked).toEqual([])
    await natsUp()
    await waitFor("4 acks", () => acked.length === 4, 30_000)
    expect(acked).toEqual(["g2@3", "g2@7", "g2@11", "g2@15"])
    // Retries reuse the msg id, so JetStream stores each envelope once even if a first attempt got through;
    // how the 4 one-line chunks were batched (up to 3 per envelope) depends on timing.
    const stored = await streamMessages(stream)
    expect(stored).toBeGreaterThanOrEqual(2)
    expect(stored).toBeLessThanOrEqual(4)
    expect(stored).toBe(transport.stats.envelopes)
  })

  test("acks follow emit order even when a later envelope is published before an earlier one", async () => {
    const { agent, stream } = await freshStream()
    const { transport } = startTransport(agent, { max_records: 1, max_in_flight: 2 }, 100)
    const acked: string[] = []
    await natsStop()
    await transport.emit(named("A", acked))
    // Each failed attempt doubles an envelope's backoff (200, 400, 800, 1600, 3200 ms). After A's 5th failure A
    // sleeps 3.2 s; B, emitted then, starts over at 200 ms, so once nats-server is back (about 0.5 s to restart
    // and reconnect) B's next attempt gets through well before A's.
    await waitFor("A's 5th failed attempt", () => transport.stats.retries >= 5)
    await transport.emit(named("B", acked))
    await waitFor("B's first failed attempt", () => transport.stats.retries >= 6)
    await natsUp()
    await waitFor("B published", () => transport.stats.envelopes === 1)
    // one envelope published and nothing acked: it is B (A's ack would be due at once), and B's ack waits for A
    expect({ published: transport.stats.envelopes, acked }).toEqual({ published: 1, acked: [] })
    await waitFor("A published and both acked", () => acked.length === 2)
    expect(acked).toEqual(["A", "B"])
    expect(await streamMessages(stream)).toBe(2)
  })

  test("max_in_flight bounds the envelopes awaiting JetStream: with 1, the next waits while the first retries", async () => {
    const { agent, stream } = await freshStream()
    const { transport } = startTransport(agent, { max_records: 1, max_in_flight: 1 }, 100)
    const acked: string[] = []
    await natsStop()
    // emit resolves while there is queue room: all three are accepted, only one may be in flight
    for (const name of ["A", "B", "C"]) await transport.emit(named(name, acked))
    await waitFor("several failed attempts", () => transport.stats.retries >= 3)
    expect(transport.stats.inFlight).toBe(1)
    await natsUp()
    await waitFor("all acked", () => acked.length === 3)
    expect(acked).toEqual(["A", "B", "C"])
    expect(await streamMessages(stream)).toBe(3)
  })

  test("close abandons unpublished envelopes after its deadline and acks nothing queued behind them", async () => {
    const { agent } = await freshStream()
    const { transport, run } = startTransport(agent, { max_in_flight: 1 })
    const acked: string[] = []
    await natsStop()
    await transport.emit(chunk("g3", 0, ["never"], acked))
    await waitFor("a retry", () => transport.stats.retries > 0)
    // Queued behind the failing envelope (the window is full): a chunk with no lines needs no publish at all,
    // yet acking it would save a position past the unpublished line.
    await transport.emit({ ...chunk("g3", 6, [], acked), parts: [] })
    await transport.close(300, run)
    await natsUp()
    expect(acked).toEqual([])
  })

  test("events: each envelope's chunks, bytes and seconds to its ack; each retry; failures said once per interval", async () => {
    const { agent } = await freshStream()
    const published: { lines: number; bytes: number; seconds: number }[] = []
    let retried = 0
    const logs: string[] = []
    const { transport } = startTransport(agent, { max_records: 1 }, 100, {
      log: (m, level) => {
        if (level !== "debug") logs.push(`${level} ${m}`)
      },
      events: {
        published: (chunks, bytes, seconds) =>
          published.push({ lines: chunks.reduce((n, c) => n + c.lines, 0), bytes, seconds }),
        retried: () => void retried++,
      },
    })
    const acked: string[] = []
    await transport.emit(chunk("g5", 0, ["one"], acked))
    await waitFor("the first ack", () => acked.length === 1)
    expect(published).toHaveLength(1)
    expect(published[0]?.lines).toBe(1)
    expect(published[0]?.bytes).toBeGreaterThan(0)
    expect(published[0]?.seconds).toBeGreaterThan(0)
    expect(published[0]?.seconds).toBeLessThan(5)

    await natsStop()
    await transport.emit(chunk("g5", 4, ["two"], acked))
    await transport.emit(chunk("g5", 8, ["three"], acked))
    await waitFor("several failed attempts", () => transport.stats.retries >= 6, 30_000)
    expect(retried).toBe(transport.stats.retries)
    // two envelopes failing again and again, within 30 s: one line
    expect(logs).toHaveLength(1)
    expect(logs[0]).toMatch(/^warn publish of envelope \S+ failed \(attempt 1\), retrying: /)
    await natsUp()
    await waitFor("all acked", () => acked.length === 3, 30_000)
    const slow = published.slice(1)
    expect(slow.map((p) => p.lines)).toEqual([1, 1])
    // from the first attempt, retries and the outage included
    for (const p of slow) expect(p.seconds).toBeGreaterThan(0.3)
  })
})
