import type { JetStreamClient, PubAck } from "@nats-io/jetstream"
import { headers as natsHeaders } from "@nats-io/transport-node"
import { type DroppedReport, type EntryBase, encodeEntriesBody } from "../../shared/protocol/entries-body.ts"
import { type SignedEnvelope, signEnvelope } from "../../shared/protocol/envelope.ts"
import { generateAgentKeyPair, keyId, loadPrivateKey } from "../../shared/protocol/keys.ts"
import { encodeLogsBody } from "../../shared/protocol/logs-body.ts"
import type { Kind } from "../../shared/protocol/subjects.ts"
import type { UrlResult } from "../../shared/protocol/urls/result.ts"

/** An agent's signing key as tests hold it. */
export type TestKey = ReturnType<typeof loadPrivateKey>

/** A fresh Ed25519 agent key. */
export function newTestKey(): TestKey {
  return loadPrivateKey(generateAgentKeyPair().privateKeyPem)
}

export type LogsEnvelopeOptions = {
  agent: string
  key: TestKey
  seq: number
  lines: string[]
  /** file offset of the first line (default 0) */
  offset?: number
  /** file generation (default `g-<agent>`) */
  gen?: string
}

const te = new TextEncoder()

/** A signed logs envelope holding `lines` as one raw part of one file, as an agent builds it. */
export function logsEnvelope(o: LogsEnvelopeOptions): SignedEnvelope {
  const bytes = te.encode(o.lines.map((l) => `${l}\n`).join(""))
  const offset = o.offset ?? 0
  const body = encodeLogsBody(
    [{ path: "/var/log/app.log", gen: o.gen ?? `g-${o.agent}` }],
    [{ f: 0, s: offset, e: offset + bytes.length }],
    [{ f: 0, o: offset, n: bytes.length, raw: 1, at: Date.now() }],
    [bytes],
  )
  return signEnvelope({
    privateKey: o.key.privateKey,
    keyId: keyId(o.key.publicKeyRaw),
    agent: o.agent,
    host: "test-host",
    kind: "logs",
    seq: o.seq,
    count: o.lines.length,
    sentAt: Date.now(),
    body,
  })
}

/** Publishes an envelope with its headers and msg id, as the agent does. */
export function publishEnvelope(js: JetStreamClient, env: SignedEnvelope): Promise<PubAck> {
  const h = natsHeaders()
  for (const [k, v] of Object.entries(env.headers)) h.set(k, v)
  return js.publish(env.subject, env.body, { headers: h, msgID: env.id })
}

/** A `urls` result as an agent's probe reports it (override any field). */
export function urlResult(id: number, overrides: Partial<UrlResult> = {}): UrlResult {
  return {
    id,
    check: "home",
    url: "http://127.0.0.1:1/",
    started_at: Date.now(),
    timings: { dns_ms: null, connect_ms: 1, tls_ms: null, first_byte_ms: 2, transfer_ms: 0.5, total_ms: 4 },
    status: 200,
    bytes: 12,
    redirects: 0,
    cert_expires_at: null,
    outcome: "up",
    reason: null,
    message: null,
    ...overrides,
  }
}

/** A signed envelope of an outbox kind holding `entries` (and an optional dropped report). */
export function entriesEnvelope(o: {
  agent: string
  key: TestKey
  seq: number
  kind: Kind
  entries: EntryBase[]
  dropped?: DroppedReport
}): SignedEnvelope {
  return signEnvelope({
    privateKey: o.key.privateKey,
    keyId: keyId(o.key.publicKeyRaw),
    agent: o.agent,
    host: "test-host",
    kind: o.kind,
    seq: o.seq,
    count: o.entries.length,
    sentAt: Date.now(),
    body: encodeEntriesBody(o.entries, o.dropped),
  })
}
