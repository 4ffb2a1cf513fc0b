import { Database } from "bun:sqlite"
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import type { NatsConnection } from "@nats-io/transport-node"
import { type DroppedReport, decodeEntriesBody } from "../../shared/protocol/entries-body.ts"
import { parseEnvelopeHeaders, verifyEnvelope } from "../../shared/protocol/envelope.ts"
import { generateAgentKeyPair, keyId, loadPrivateKey, publicKeyFromRaw } from "../../shared/protocol/keys.ts"
import { agentSubject } from "../../shared/protocol/subjects.ts"
import { type NatsServer, startNatsServer, tempDir, waitFor } from "../../test/harness/index.ts"
import { type Outbox, type OutboxOptions, openOutbox } from "../outbox/index.ts"
import {
  type EntriesBatchLimits,
  EntriesTransport,
  type EntriesTransportOptions,
} from "./entries-transport.ts"
import { connectNats } from "./nats-connection.ts"
import { SequenceAllocator } from "./sequence.ts"

// Starts a real nats-server and stops it mid-test: give a busy 2-core machine room.
setDefaultTimeout(60_000)

const key = loadPrivateKey(generateAgentKeyPair().privateKeyPem)
const MiB = 1024 * 1024

const numbered = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ n: from + i, url: `https://example.com/${from + i}` }))

/** Appends `count` numbered entries (n = id - 1 in a fresh outbox) in appends of 100, as a source would. */
function appendNumbered(outbox: Outbox, from: number, count: number): void {
  for (let i = 0; i < count; i += 100) outbox.append("urls", numbered(from + i, Math.min(100, count - i)))
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

type Received = { seq: number; ids: number[]; ns: unknown[]; dropped?: DroppedReport }

describe("EntriesTransport against a real nats-server", () => {
  let nats: NatsServer
  let nc: NatsConnection
  let natsDown = false
  let streams = 0
  const dir = tempDir("outpost-entries-transport-")
  const transports: { transport: EntriesTransport; run: Promise<void> }[] = []
  const outboxes: Outbox[] = []

  beforeAll(async () => {
    nats = await startNatsServer()
    nc = await connectNats([nats.url], "test")
  })
  afterEach(async () => {
    // a failed test must not leave the server down or a transport retrying for the next one
    if (natsDown) await natsUp()
    for (const { transport, run } of transports.splice(0)) await transport.close(200, run)
    for (const outbox of outboxes.splice(0)) outbox.close()
  })
  afterAll(async () => {
    await nc?.close()
    await nats?.[Symbol.asyncDispose]()
    await dir[Symbol.asyncDispose]()
  })

  const natsStop = async () => {
    natsDown = true
    await nats.stop()
  }
  /** Restarts nats-server and waits until this client is connected again (the transports' connection too). */
  const natsUp = async () => {
    await nats.start()
    natsDown = false
    await waitFor("the client to reconnect", () => nc.flush().then(() => true))
  }

  /** Each test publishes as its own agent to its own stream and outbox: tests are independent and can run alone. */
  const fresh = async (options: Partial<OutboxOptions> = {}) => {
    const n = ++streams
    const agent = `edge-${n}`
    const stream = `URLS_${n}`
    await (await jetstreamManager(nc)).streams.add({ name: stream, subjects: [agentSubject("urls", agent)] })
    const outbox = openOutbox({
      path: join(dir.path, `agent-${n}`, "outbox.db"),
      maxBytes: 64 * MiB,
      maxEntries: 1_000_000,
      firstId: () => 1,
      ...options,
    })
    outboxes.push(outbox)
    return { agent, stream, outbox }
  }

  const startTransport = (
    agent: string,
    outbox: Outbox,
    batch: Partial<EntriesBatchLimits> = {},
    extra: Partial<EntriesTransportOptions> = {},
  ) => {
    const transport = new EntriesTransport({
      kind: "urls",
      outbox,
      agent,
      host: "h",
      keyId: keyId(key.publicKeyRaw),
      privateKey: key.privateKey,
      js: jetstream(nc),
      sequence: new SequenceAllocator(new Database(":memory:")),
      batch: { max_entries: 5000, max_bytes: 900 * 1024, max_wait_ms: 20, ...batch },
      publishTimeoutMs: 500,
      ...extra,
    })
    const entry = { transport, run: transport.run() }
    transports.push(entry)
    return entry
  }

  /** Every envelope in the stream, in stream order: verified, its body decoded, its count checked. */
  const received = async (stream: string): Promise<Received[]> => {
    const jsm = await jetstreamManager(nc)
    const publicKey = publicKeyFromRaw(key.publicKeyRaw)
    const messages = (await jsm.streams.info(stream)).state.messages
    const out: Received[] = []
    for (let seq = 1; seq <= messages; seq++) {
      const msg = await jsm.streams.getMessage(stream, { seq })
      if (!msg) throw new Error(`stream message ${seq} is missing`)
      const envelope = parseEnvelopeHeaders((name) => msg.header.get(name), msg.subject)
      verifyEnvelope(envelope, msg.data, publicKey)
      const body = decodeEntriesBody<{ id: number; n: unknown }>(msg.data, (e) =>
        typeof e.n === "number" ? undefined : "n is missing",
      )
      expect({ kind: envelope.kind, count: envelope.count }).toEqual({
        kind: "urls",
        count: body.entries.length,
      })
      out.push({
        seq: envelope.seq,
        ids: body.entries.map((e) => e.id),
        ns: body.entries.map((e) => e.n),
        ...(body.dropped ? { dropped: body.dropped } : {}),
      })
    }
    return out
  }
  const allIds = (envelopes: Received[]) => envelopes.flatMap((e) => e.ids)

  test("publishes 10,000 entries exactly once, in id order across envelopes, and empties the outbox", async () => {
    const { agent, stream, outbox } = await fresh()
    appendNumbered(outbox, 0, 5000)
    const { transport } = startTransport(agent, outbox, { max_entries: 1000 })
    // the rest while it publishes
    for (let i = 5000; i < 10_000; i += 500) {
      appendNumbered(outbox, i, 500)
      await Bun.sleep(0)
    }
    await waitFor("every entry published", () => transport.stats.entries === 10_000)
    expect(outbox.stats()).toMatchObject({ entries: 0, bytes: 0, dropped: {} })
    const envelopes = await received(stream)
    expect(allIds(envelopes)).toEqual(range(1, 10_000))
    expect(envelopes.flatMap((e) => e.ns)).toEqual(range(0, 9999))
    for (const e of envelopes) expect(e.ids.length).toBeLessThanOrEqual(1000)
    expect(envelopes.length).toBeGreaterThanOrEqual(10)
    expect(transport.stats).toMatchObject({ envelopes: envelopes.length, retries: 0, dropped_reported: 0 })
    const seqs = envelopes.map((e) => e.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
  })

  test("max_bytes bounds the body; max_wait_ms lets entries appended soon after the first share its envelope", async () => {
    const { agent, stream, outbox } = await fresh()
    const { transport } = startTransport(agent, outbox, { max_bytes: 8 * 1024, max_wait_ms: 400 })
    outbox.append("urls", numbered(0, 1))
    await Bun.sleep(30) // a second append well within max_wait_ms of the first
    outbox.append("urls", numbered(1, 1))
    await waitFor("2 entries published", () => transport.stats.entries === 2)
    expect((await received(stream)).map((e) => e.ids)).toEqual([[1, 2]])
    appendNumbered(outbox, 2, 1000)
    await waitFor("1002 entries published", () => transport.stats.entries === 1002)
    const jsm = await jetstreamManager(nc)
    for (let seq = 2; seq <= (await jsm.streams.info(stream)).state.messages; seq++) {
      const msg = await jsm.streams.getMessage(stream, { seq })
      expect(msg?.data.length).toBeLessThanOrEqual(8 * 1024)
    }
    expect(allIds(await received(stream))).toEqual(range(1, 1002))
  })

  test("while nats-server is down nothing is removed; after it returns every entry arrives, once, in order", async () => {
    const { agent, stream, outbox } = await fresh()
    const published: { entries: number; bytes: number; seconds: number }[] = []
    let retried = 0
    await natsStop()
    const { transport } = startTransport(
      agent,
      outbox,
      { max_entries: 1000 },
      {
        events: {
          published: (entries, bytes, seconds) => published.push({ entries, bytes, seconds }),
          retried: () => void retried++,
        },
      },
    )
    appendNumbered(outbox, 0, 3000)
    await waitFor("a failed publish", () => transport.stats.retries > 0)
    appendNumbered(outbox, 3000, 2000)
    expect(outbox.stats().entries).toBe(5000)
    expect(transport.stats.envelopes).toBe(0)
    await natsUp()
    await waitFor("every entry published", () => outbox.stats().entries === 0, 30_000)
    const envelopes = await received(stream)
    expect(allIds(envelopes)).toEqual(range(1, 5000))
    expect(retried).toBe(transport.stats.retries)
    expect(published.map((p) => p.entries)).toEqual(envelopes.map((e) => e.ids.length))
    // the first envelope's time runs from its first attempt, the outage included
    expect(published[0]?.seconds).toBeGreaterThan(0.1)
    expect(published.reduce((n, p) => n + p.bytes, 0)).toBe(transport.stats.bytes)
  })

  test("with a tiny bound while nats-server is down, the first envelope after the restart reports exactly the drops, once", async () => {
    const { agent, stream, outbox } = await fresh({ maxEntries: 100 })
    await natsStop()
    appendNumbered(outbox, 0, 250)
    expect(outbox.stats().dropped).toEqual({ urls: 150 })
    const { transport } = startTransport(agent, outbox)
    await waitFor("a failed publish", () => transport.stats.retries > 0)
    await natsUp()
    await waitFor("every entry published", () => outbox.stats().entries === 0, 30_000)
    const envelopes = await received(stream)
    expect(envelopes[0]?.dropped).toEqual({ count: 150, before_id: 151 })
    expect(envelopes.filter((e) => e.dropped)).toHaveLength(1)
    expect(allIds(envelopes)).toEqual(range(151, 250))
    expect(transport.stats.dropped_reported).toBe(150)
    expect(outbox.stats().dropped).toEqual({})
  })

  test("drops while an envelope waits for nats-server: the ids received and the ranges reported dropped cover every id once", async () => {
    const { agent, stream, outbox } = await fresh({ maxEntries: 100 })
    await natsStop()
    appendNumbered(outbox, 0, 250) // 1-150 dropped
    const { transport } = startTransport(agent, outbox, { max_entries: 50 })
    await waitFor("a failed publish", () => transport.stats.retries > 0) // 151-200 in flight
    appendNumbered(outbox, 250, 200) // drops 151-350: 50 of them in flight
    await natsUp()
    await waitFor("every entry published", () => outbox.stats().entries === 0, 30_000)
    const envelopes = await received(stream)
    const covered = [...allIds(envelopes)]
    for (const { dropped } of envelopes) {
      // a report's drops are the ids just below its before_id
      if (dropped) covered.push(...range(dropped.before_id - dropped.count, dropped.before_id - 1))
    }
    expect(covered.sort((a, b) => a - b)).toEqual(range(1, 450))
    expect(envelopes.map((e) => e.dropped).filter(Boolean)).toEqual([
      { count: 150, before_id: 151 },
      { count: 150, before_id: 351 },
    ])
    expect(outbox.stats().dropped).toEqual({})
  })

  test("close publishes what waits at once; at its deadline it gives up and the entries stay for the next run", async () => {
    const { agent, stream, outbox } = await fresh()
    const first = startTransport(agent, outbox, { max_wait_ms: 30_000 })
    appendNumbered(outbox, 0, 10)
    await first.transport.close(10_000, first.run)
    expect(allIds(await received(stream))).toEqual(range(1, 10))

    await natsStop()
    const second = startTransport(agent, outbox)
    appendNumbered(outbox, 10, 10)
    await waitFor("a failed publish", () => second.transport.stats.retries > 0)
    await second.transport.close(300, second.run)
    expect(outbox.stats().entries).toBe(10)
    await natsUp()
    const third = startTransport(agent, outbox)
    await waitFor("the rest published", () => outbox.stats().entries === 0, 30_000)
    expect(third.transport.stats.entries).toBe(10)
    expect(allIds(await received(stream))).toEqual(range(1, 20))
  })
})
