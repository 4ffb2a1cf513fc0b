import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection, headers as natsHeaders } from "@nats-io/transport-node"
import { parseConfig } from "../../shared/config/load.ts"
import { HEADER, type SignedEnvelope, signEnvelope } from "../../shared/protocol/envelope.ts"
import {
  formatPublicKeyLine,
  generateAgentKeyPair,
  keyId,
  loadPrivateKey,
} from "../../shared/protocol/keys.ts"
import { encodeLogsBody } from "../../shared/protocol/logs-body.ts"
import {
  type NatsServer,
  recordingLogger,
  startNatsServer,
  tempDir,
  waitFor,
} from "../../test/harness/index.ts"
import { CollectorConfigSchema } from "../config/schema.ts"
import { type RunningCollector, startCollector } from "../service.ts"
import { QUARANTINE_REASONS } from "./quarantine.ts"

// Starts real nats-server, DuckDB and processes: give a busy 2-core machine room.
setDefaultTimeout(60_000)

const te = new TextEncoder()
const enrolled = loadPrivateKey(generateAgentKeyPair().privateKeyPem)
const stranger = loadPrivateKey(generateAgentKeyPair().privateKeyPem)
let seq = 1

function logsEnvelope(
  lines: string[],
  opts: { agent?: string; key?: typeof enrolled; gen?: string; offset?: number } = {},
) {
  const bytes = te.encode(lines.map((l) => `${l}\n`).join(""))
  const o = opts.offset ?? 0
  const body = encodeLogsBody(
    [{ path: "/var/log/app.log", gen: opts.gen ?? "g1" }],
    [{ f: 0, s: o, e: o + bytes.length }],
    [{ f: 0, o, n: bytes.length, raw: 1, at: Date.now() }],
    [bytes],
  )
  const key = opts.key ?? enrolled
  return signEnvelope({
    privateKey: key.privateKey,
    keyId: keyId(key.publicKeyRaw),
    agent: opts.agent ?? "edge-1",
    host: "web-1",
    kind: "logs",
    seq: seq++,
    count: lines.length,
    sentAt: Date.now(),
    body,
  })
}

/** The same envelope re-signed over another body (a sender bug, not an attack: the signature is valid). */
function signedWithBody(env: SignedEnvelope, body: Uint8Array): SignedEnvelope {
  return signEnvelope({
    privateKey: enrolled.privateKey,
    keyId: keyId(enrolled.publicKeyRaw),
    agent: "edge-1",
    host: "web-1",
    kind: "logs",
    seq: Number(env.headers[HEADER.seq]) + 1_000_000,
    count: 1,
    sentAt: Date.now(),
    body,
  })
}

describe("collector ingest against real nats-server and DuckDB", () => {
  let nats: NatsServer
  let dir: { path: string; [Symbol.asyncDispose](): Promise<void> }
  let collector: RunningCollector
  let nc: NatsConnection
  let jsm: JetStreamManager
  const log = recordingLogger("collector")
  const collectorLog = log.messages

  const publish = async (env: SignedEnvelope, mutate: (h: Record<string, string>) => void = () => {}) => {
    const h = natsHeaders()
    const hs = { ...env.headers }
    mutate(hs)
    for (const [k, v] of Object.entries(hs)) h.set(k, v)
    return await jetstream(nc).publish(env.subject, env.body, { headers: h })
  }
  const sql = async (q: string) => {
    const res = await fetch(`${collector.httpUrl}/sql?q=${encodeURIComponent(q)}`)
    return ((await res.json()) as { rows: Record<string, unknown>[] }).rows
  }
  const count = async (q: string) => Number((await sql(q))[0]?.n ?? -1)
  /** Every message delivered so far is settled: nothing waits for delivery, none for an ack. */
  const drained = async () => {
    const info = await jsm.consumers.info("OUTPOST", "collector")
    return info.num_pending === 0 && info.num_ack_pending === 0
  }

  beforeAll(async () => {
    nats = await startNatsServer()
    dir = tempDir()
    writeFileSync(join(dir.path, "agents.pub"), `${formatPublicKeyLine(enrolled.publicKeyRaw, "edge-1")}\n`)
    const config = parseConfig(
      {
        data_dir: dir.path,
        enrolled_keys: join(dir.path, "agents.pub"),
        nats: { url: nats.url },
        http: { port: 0 },
        stream: { duplicate_window_s: 1 },
        max_envelope_bytes: 4096,
        consumer: { pull_max_bytes: 1024 * 1024 },
      },
      CollectorConfigSchema,
    )
    collector = await startCollector(config, log)
    nc = await connect({ servers: nats.url })
    jsm = await jetstreamManager(nc)
  })
  afterAll(async () => {
    await nc?.close()
    await collector?.stop()
    await nats?.[Symbol.asyncDispose]()
    await dir?.[Symbol.asyncDispose]()
  })

  test("a valid envelope lands as rows; a replay of it is rejected and recorded, not duplicated", async () => {
    const env = logsEnvelope(["alpha", "beta"])
    await publish(env)
    await waitFor("2 rows", async () => (await count("SELECT count(*) AS n FROM logs")) === 2)
    // The stream's duplicate window is 1 s here: republish until JetStream stores the copy, as a replay would.
    await waitFor("JetStream to store the replay", async () => !(await publish(env)).duplicate)
    await waitFor(
      "replay recorded",
      async () =>
        (await count("SELECT count(*) AS n FROM processing_errors WHERE reason = 'replayed'")) === 1,
    )
    expect(await count("SELECT count(*) AS n FROM logs")).toBe(2)
    expect((await sql(`SELECT line FROM logs ORDER BY "offset"`)).map((r) => r.line)).toEqual([
      "alpha",
      "beta",
    ])
  })

  test.each([
    [
      "tampered body",
      () => {
        const env = logsEnvelope(["x"])
        const body = new Uint8Array(env.body)
        body[body.length - 2] = 0x79
        return { env: { ...env, body }, mutate: undefined }
      },
      "body_hash",
    ],
    ["wrong key", () => ({ env: logsEnvelope(["x"], { key: stranger }), mutate: undefined }), "unknown_key"],
    [
      "forged signature",
      () => ({
        env: logsEnvelope(["x"]),
        mutate: (h: Record<string, string>) => {
          h[HEADER.signature] = Buffer.alloc(64, 7).toString("base64")
        },
      }),
      "signature",
    ],
    [
      "unknown agent",
      () => ({ env: logsEnvelope(["x"], { agent: "intruder" }), mutate: undefined }),
      "unknown_agent",
    ],
    ["oversized envelope", () => ({ env: logsEnvelope(["y".repeat(5000)]), mutate: undefined }), "oversized"],
    [
      "correctly signed but undecodable body",
      () => {
        const env = logsEnvelope(["x"])
        return { env: signedWithBody(env, te.encode("not a logs body")), mutate: undefined }
      },
      "bad_body",
    ],
    [
      "malformed headers",
      () => ({
        env: logsEnvelope(["x"]),
        mutate: (h: Record<string, string>) => {
          h[HEADER.seq] = "not-a-number"
        },
      }),
      "malformed",
    ],
  ] as const)("%s is refused, counted and recorded", async (_name, make, reason) => {
    const { env, mutate } = make()
    await publish(env, mutate)
    await waitFor(
      `${reason} recorded`,
      async () =>
        (await count(`SELECT count(*) AS n FROM processing_errors WHERE reason = '${reason}'`)) === 1,
    )
    const metrics = await (await fetch(`${collector.httpUrl}/metrics`)).text()
    // What an operator can fix (enroll the key, raise the limit) is held in the quarantine, not terminated.
    const counted = QUARANTINE_REASONS.has(reason)
      ? "outpost_collector_envelopes_quarantined_total"
      : "outpost_collector_envelopes_rejected_total"
    expect(metrics).toContain(`${counted}{reason="${reason}"} 1`)
    const row = (
      await sql(`SELECT subject, size, headers FROM processing_errors WHERE reason = '${reason}'`)
    )[0]
    expect(row?.subject).toBe(env.subject)
    expect(Number(row?.size)).toBe(env.body.length)
  })

  test("a rejected envelope is terminated: once the consumer is drained it is recorded exactly once", async () => {
    const ack = await publish(logsEnvelope(["forged"]), (h) => {
      h[HEADER.signature] = Buffer.alloc(64, 3).toString("base64")
    })
    const recorded = () => sql(`SELECT reason FROM processing_errors WHERE stream_seq = ${ack.seq}`)
    // A nak'd rejection would come back again and again: the consumer would not drain, rows would pile up.
    await waitFor(
      "the rejection recorded and the consumer drained",
      async () => (await recorded()).length > 0 && (await drained()),
    )
    expect(await recorded()).toEqual([{ reason: "signature" }])
  })

  test("a message without any headers is rejected as malformed and terminated", async () => {
    const ack = await jetstream(nc).publish("outpost.logs.edge-1", te.encode("garbage"))
    const recorded = () =>
      sql(`SELECT reason, message, agent, size FROM processing_errors WHERE stream_seq = ${ack.seq}`)
    await waitFor(
      "the rejection recorded and the consumer drained",
      async () => (await recorded()).length > 0 && (await drained()),
    )
    expect(await recorded()).toEqual([
      { reason: "malformed", message: "missing header Outpost-Version", agent: null, size: 7 },
    ])
  })

  test("junk with huge headers: each stored row and log line stays small; control characters are escaped", async () => {
    const before = await count("SELECT count(*) AS n FROM processing_errors WHERE reason = 'malformed'")
    for (let i = 0; i < 50; i++) {
      const h = natsHeaders()
      h.set(HEADER.agent, "edge-1\u001b[31m")
      for (let k = 0; k < 60; k++) h.set(`X-Junk-${k}`, `\u001b[2J${"j".repeat(1000)}`)
      await jetstream(nc).publish("outpost.logs.edge-1", te.encode("junk"), { headers: h })
    }
    await waitFor(
      "50 more malformed",
      async () =>
        (await count("SELECT count(*) AS n FROM processing_errors WHERE reason = 'malformed'")) ===
        before + 50,
    )
    const biggest = await count(
      "SELECT max(length(headers::VARCHAR) + length(message) + length(coalesce(agent, ''))) AS n FROM processing_errors",
    )
    expect(biggest).toBeLessThan(6000)
    const raw = await sql(
      "SELECT agent, headers::VARCHAR AS h FROM processing_errors WHERE headers::VARCHAR LIKE '%X-Junk%' LIMIT 1",
    )
    expect(String(raw[0]?.h)).not.toContain("\u001b")
    expect(String(raw[0]?.h)).toContain("\\\\x1b")
    expect(String(raw[0]?.agent)).toBe("edge-1\\x1b[31m")
    const logged = collectorLog.filter((l) => l.includes("X-Junk") || l.includes("malformed"))
    expect(logged.length).toBeLessThan(5)
    expect(logged.every((l) => !l.includes("\u001b") && l.length < 800)).toBe(true)
  })

  test("a status request cannot make the collector answer onto a subject the asker chose", async () => {
    const jsm = await jetstreamManager(nc)
    const before = (await jsm.streams.info("OUTPOST")).state.messages
    expect(before).toBeGreaterThan(0)
    for (const reply of [
      "$JS.API.STREAM.PURGE.OUTPOST",
      "$JS.API.STREAM.PURGE.OUTPOST_QUARANTINE",
      "_INBOX_other.x",
    ])
      nc.publish("outpost-ctl.edge-1.status", "{}", { reply })
    // An honest request on the agent's own inbox is answered (and, being later, proves the others were seen).
    const honest = await nc.request("outpost-ctl.edge-1.status", "{}", {
      timeout: 5000,
      reply: "_INBOX_edge-1.t1",
      noMux: true,
    })
    expect(honest.json<{ agent_enrolled: boolean }>().agent_enrolled).toBe(true)
    expect((await jsm.streams.info("OUTPOST")).state.messages).toBe(before)
  })

  test("HTTP: health ok, status lists the agent, bad SQL is a 400 with a JSON error", async () => {
    expect((await fetch(`${collector.httpUrl}/health`)).status).toBe(200)
    const status = (await (await fetch(`${collector.httpUrl}/status`)).json()) as {
      agents: Array<{ agent: string }>
    }
    expect(status.agents.map((a) => a.agent)).toEqual(["edge-1"])
    for (const q of [
      "DROP TABLE log_lines",
      "SELECT 1; SELECT 2",
      "SELEC nonsense",
      "SELECT * FROM read_text('/etc/passwd')",
      "FROM '/etc/hostname'",
    ]) {
      const res = await fetch(`${collector.httpUrl}/sql?q=${encodeURIComponent(q)}`)
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: string }).error.length).toBeGreaterThan(0)
    }
    const missing = await fetch(`${collector.httpUrl}/sql`)
    expect(missing.status).toBe(400)
  })
})
