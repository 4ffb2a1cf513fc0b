import type { JetStreamClient, PubAck } from "@nats-io/jetstream"
import { headers as natsHeaders } from "@nats-io/transport-node"
import { type SignedEnvelope, signEnvelope } from "../../shared/protocol/envelope.ts"
import { generateAgentKeyPair, keyId, loadPrivateKey } from "../../shared/protocol/keys.ts"
import { encodeLogsBody } from "../../shared/protocol/logs-body.ts"

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
