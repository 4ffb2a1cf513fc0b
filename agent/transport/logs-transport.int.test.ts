import { Database } from "bun:sqlite"
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import type { NatsConnection } from "@nats-io/transport-node"
import { generateAgentKeyPair, keyId, loadPrivateKey } from "../../shared/protocol/keys.ts"
import { decodeLogsBody } from "../../shared/protocol/logs-body.ts"
import { type NatsServer, startNatsServer, waitFor } from "../../test/harness/index.ts"
import type { LogChunk } from "../sources/source.ts"
import { LogsTransport } from "./logs-transport.ts"
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

describe("LogsTransport against a real nats-server", () => {
  let nats: NatsServer
  let nc: NatsConnection

  beforeAll(async () => {
    nats = await startNatsServer()
    nc = await connectNats([nats.url], "test")
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "OUTPOST", subjects: ["outpost.>"] })
  })
  afterAll(async () => {
    await nc?.close()
    await nats?.[Symbol.asyncDispose]()
  })

  const makeTransport = (maxInFlight = 2) =>
    new LogsTransport({
      agent: "edge-1",
      host: "h",
      keyId: keyId(key.publicKeyRaw),
      privateKey: key.privateKey,
      js: jetstream(nc),
      sequence: new SequenceAllocator(new Database(":memory:")),
      batch: { max_records: 3, max_bytes: 1 << 20, max_wait_ms: 5, max_in_flight: maxInFlight },
      publishTimeoutMs: 500,
    })

  const streamMessages = async () =>
    (await (await jetstreamManager(nc)).streams.info("OUTPOST")).state.messages

  test("batches chunks into signed envelopes and acks chunks in emit order after JetStream acked them", async () => {
    const transport = makeTransport()
    const running = transport.run()
    const acked: string[] = []
    for (let i = 0; i < 5; i++) await transport.emit(chunk("g1", i * 6, [`l${i}`, `m${i}`], acked))
    await waitFor("5 acks", () => acked.length === 5)
    expect(acked).toEqual(["g1@6", "g1@12", "g1@18", "g1@24", "g1@30"])
    const stored = await streamMessages()
    expect(stored).toBeGreaterThanOrEqual(3) // at most 3 records per envelope
    const msg = await (await jetstreamManager(nc)).streams.getMessage("OUTPOST", { seq: 1 })
    if (!msg) throw new Error("first stream message is missing")
    const body = decodeLogsBody(msg.data)
    expect(body.manifest.spans[0]).toEqual({ f: 0, s: 0, e: body.manifest.spans[0]?.e ?? -1 })
    await transport.close(1000, running)
  })

  test("while nats-server is down nothing is acked; after it returns every chunk is published and acked in order", async () => {
    const before = await streamMessages()
    const transport = makeTransport()
    const running = transport.run()
    const acked: string[] = []
    await nats.stop()
    for (let i = 0; i < 4; i++) await transport.emit(chunk("g2", i * 4, [`x${i}`], acked))
    await waitFor("a retry", () => transport.stats.retries > 0)
    expect(acked).toEqual([])
    await nats.start()
    await waitFor("4 acks", () => acked.length === 4, 30_000)
    expect(acked).toEqual(["g2@3", "g2@7", "g2@11", "g2@15"])
    // Retries reuse the msg id, so JetStream stores each envelope once even if a first attempt got through.
    const stored = (await streamMessages()) - before
    expect(stored).toBeGreaterThanOrEqual(2)
    expect(stored).toBeLessThanOrEqual(4)
    await transport.close(1000, running)
  })

  test("close abandons unpublished envelopes after its deadline and acks nothing queued behind them", async () => {
    const transport = makeTransport(1)
    const running = transport.run()
    const acked: string[] = []
    await nats.stop()
    await transport.emit(chunk("g3", 0, ["never"], acked))
    await waitFor("a retry", () => transport.stats.retries > 0)
    // Queued behind the failing envelope (the window is full): a chunk with no lines needs no publish at all,
    // yet acking it would save a position past the unpublished line.
    await transport.emit({ ...chunk("g3", 6, [], acked), parts: [] })
    await transport.close(300, running)
    await nats.start()
    expect(acked).toEqual([])
  })
})
