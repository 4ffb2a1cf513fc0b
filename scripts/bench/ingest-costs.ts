/** Per-envelope costs of the ingest steps measured on their own, outside the loop: verification and acks. */
import { createHash, verify } from "node:crypto"
import type { JsMsg } from "@nats-io/jetstream"
import type { NatsConnection } from "@nats-io/transport-node"
import type { Enrollment } from "../../collector/ingest/enrollment.ts"
import { toIncoming } from "../../collector/ingest/incoming.ts"
import { type IncomingMessage, judgeMessage } from "../../collector/ingest/verify.ts"
import { canonicalString, parseEnvelopeHeaders, type SignedEnvelope } from "../../shared/protocol/envelope.ts"
import { envelopeHeaders, type TinyEnvelopes } from "./flood-publisher.ts"

export type VerifyCosts = {
  /** judgeMessage: headers, SHA-256 of the body, Ed25519 verify, dedup lookups, body decode */
  judgeUs: number
  /** of which the Ed25519 verify alone */
  ed25519Us: number
  /** of which the body's SHA-256 */
  sha256Us: number
}

/** Microseconds per envelope of the verification steps, over `count` envelopes after a warm-up. */
export function measureVerify(
  source: TinyEnvelopes,
  enrollment: Enrollment,
  count: number,
  linesPerEnvelope: number,
): VerifyCosts {
  const messages: IncomingMessage[] = []
  for (let i = 0; i < count; i++) {
    const env = source.next(linesPerEnvelope)
    messages.push({
      subject: env.subject,
      headers: env.headers,
      data: env.body,
      streamSeq: i + 1,
      redelivered: false,
    })
  }
  const judgeAll = () => {
    let batchIds = new Set<string>()
    messages.forEach((m, i) => {
      if (i % 64 === 0) batchIds = new Set()
      const verdict = judgeMessage(m, {
        enrollment,
        maxEnvelopeBytes: 8 * 1024 * 1024,
        committedStreamSeq: () => undefined,
        batchIds,
      })
      if (verdict.type !== "accept")
        throw new Error(`bench envelope not accepted: ${JSON.stringify(verdict)}`)
    })
  }
  judgeAll() // warm-up (JIT, key objects)
  const t0 = performance.now()
  judgeAll()
  const judgeUs = ((performance.now() - t0) * 1000) / count

  const parsed = messages.map((m) => parseEnvelopeHeaders((name) => m.headers[name], m.subject))
  const key = enrollment.get(source.agent)?.values().next().value
  if (!key) throw new Error(`agent ${source.agent} is not enrolled`)
  const canonical = parsed.map((p) => Buffer.from(canonicalString(p)))
  const t1 = performance.now()
  parsed.forEach((p, i) => {
    verify(null, canonical[i] as Buffer, key, p.signature)
  })
  const ed25519Us = ((performance.now() - t1) * 1000) / count
  const t2 = performance.now()
  for (const m of messages) createHash("sha256").update(m.data).digest("hex")
  const sha256Us = ((performance.now() - t2) * 1000) / count
  return { judgeUs, ed25519Us, sha256Us }
}

export type AckCosts = {
  /** client side of one ack: publishing a `+ACK` to a reply subject */
  publishUs: number
  /** one `flush()` (PING/PONG round trip), which ingest waits for once per batch */
  flushUs: number
}

/** Client-side cost of acks on an idle connection: `count` small publishes, and `flush()` round trips. */
export async function measureAcks(nc: NatsConnection, count: number): Promise<AckCosts> {
  const payload = new TextEncoder().encode("+ACK")
  const subject = "bench.fairness.ack"
  for (let i = 0; i < 1000; i++) nc.publish(subject, payload)
  await nc.flush()
  const t0 = performance.now()
  for (let i = 0; i < count; i++) nc.publish(subject, payload)
  await nc.flush()
  const publishUs = ((performance.now() - t0) * 1000) / count
  const rounds = 100
  const t1 = performance.now()
  for (let i = 0; i < rounds; i++) await nc.flush()
  const flushUs = ((performance.now() - t1) * 1000) / rounds
  return { publishUs, flushUs }
}

/**
 * What turning a delivered message into an IncomingMessage costs (`toIncoming`: decoding the NATS headers,
 * copying and capping them): the envelopes are sent over core NATS to this connection and converted on arrival.
 */
export async function measureToIncoming(nc: NatsConnection, envelopes: SignedEnvelope[]): Promise<number> {
  const subject = `bench.fairness.incoming.${Date.now()}`
  let spentMs = 0
  let seen = 0
  const all = new Promise<void>((resolve) => {
    nc.subscribe(subject, {
      max: envelopes.length,
      callback: (_error, m) => {
        const started = performance.now()
        // a core message has no JetStream info: the stream sequence is passed, `redelivered` reads undefined
        toIncoming(m as unknown as JsMsg, ++seen)
        spentMs += performance.now() - started
        if (seen === envelopes.length) resolve()
      },
    })
  })
  await nc.flush()
  for (const env of envelopes) nc.publish(subject, env.body, { headers: envelopeHeaders(env) })
  await all
  return (spentMs * 1000) / envelopes.length
}
