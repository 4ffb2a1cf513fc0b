import { createHash, type KeyObject, sign, verify } from "node:crypto"
import { EnvelopeError } from "../errors.ts"
import { AGENT_ID_PATTERN } from "./keys.ts"
import { agentSubject, isKind, type Kind } from "./subjects.ts"

/** Wire protocol version carried in every envelope. */
export const PROTOCOL_VERSION = 1

/** Header names; see docs/PROTOCOL.md. */
export const HEADER = {
  msgId: "Nats-Msg-Id",
  version: "Outpost-Version",
  agent: "Outpost-Agent",
  host: "Outpost-Host",
  keyId: "Outpost-Key-Id",
  kind: "Outpost-Kind",
  seq: "Outpost-Seq",
  count: "Outpost-Count",
  sentAt: "Outpost-Sent-At",
  bodySha256: "Outpost-Body-Sha256",
  signature: "Outpost-Signature",
} as const

/** Rejection reasons, used as the `reason` label in metrics and in `processing_errors`. */
export type RejectReason =
  | "malformed"
  | "unsupported_version"
  | "unknown_agent"
  | "unknown_key"
  | "body_hash"
  | "signature"
  | "oversized"
  | "replayed"
  | "bad_body"
  | "unsupported_kind"
  | "unwritable"

/** Everything the signature covers besides the body itself. */
export type EnvelopeMeta = {
  version: number
  agent: string
  host: string
  keyId: string
  kind: Kind
  seq: number
  count: number
  sentAt: number
  subject: string
  bodySha256: string
}

/** A signed envelope ready to publish: NATS headers + body. */
export type SignedEnvelope = {
  id: string
  subject: string
  headers: Record<string, string>
  body: Uint8Array
}

/** Hex digits of the body's SHA-256 that end the envelope id. */
export const ID_HASH_DIGITS = 16

/**
 * `Nats-Msg-Id` of an envelope: `<agent>.<seq>.<first 16 hex of the body's SHA-256>`. Unique per agent because
 * `seq` never repeats; the hash part means a retry of the same bytes keeps its id while a client that has not seen
 * the body cannot squat the id in JetStream's duplicate window and get the real envelope dropped.
 */
export function envelopeId(agent: string, seq: number, bodySha256: string): string {
  return `${agent}.${seq}.${bodySha256.slice(0, ID_HASH_DIGITS)}`
}

/** The exact string that is signed: one field per line, the body represented by its SHA-256. */
export function canonicalString(meta: EnvelopeMeta): string {
  return [
    `outpost-envelope-v${meta.version}`,
    meta.agent,
    meta.host,
    meta.keyId,
    meta.kind,
    meta.subject,
    String(meta.seq),
    String(meta.count),
    String(meta.sentAt),
    meta.bodySha256,
  ].join("\n")
}

export function sha256Hex(body: Uint8Array): string {
  return createHash("sha256").update(body).digest("hex")
}

export type SignOptions = Omit<EnvelopeMeta, "version" | "bodySha256" | "subject"> & {
  privateKey: KeyObject
  body: Uint8Array
}

/** Hashes the body, signs the canonical string with Ed25519 and builds the headers. */
export function signEnvelope(options: SignOptions): SignedEnvelope {
  const { privateKey, body, ...rest } = options
  const meta: EnvelopeMeta = {
    ...rest,
    version: PROTOCOL_VERSION,
    subject: agentSubject(rest.kind, rest.agent),
    bodySha256: sha256Hex(body),
  }
  const signature = sign(null, Buffer.from(canonicalString(meta)), privateKey)
  const id = envelopeId(meta.agent, meta.seq, meta.bodySha256)
  return {
    id,
    subject: meta.subject,
    body,
    headers: {
      [HEADER.msgId]: id,
      [HEADER.version]: String(meta.version),
      [HEADER.agent]: meta.agent,
      [HEADER.host]: meta.host,
      [HEADER.keyId]: meta.keyId,
      [HEADER.kind]: meta.kind,
      [HEADER.seq]: String(meta.seq),
      [HEADER.count]: String(meta.count),
      [HEADER.sentAt]: String(meta.sentAt),
      [HEADER.bodySha256]: meta.bodySha256,
      [HEADER.signature]: signature.toString("base64"),
    },
  }
}

/** Parsed headers of a received envelope; nothing here is trusted until `verifyEnvelope` passes. */
export type ReceivedEnvelope = EnvelopeMeta & { id: string; signature: Uint8Array }

const UINT = /^(0|[1-9][0-9]{0,15})$/
/** A kind as it may appear in a subject token. */
const KIND_TOKEN = /^[a-z][a-z0-9_]{0,31}$/

/** Latest `Outpost-Sent-At` accepted: 9999-12-31T23:59:59.999Z in ms since the epoch (see docs/PROTOCOL.md). */
export const MAX_SENT_AT_MS = 253402300799999

/** Parses and checks the headers of a received message; throws EnvelopeError naming the first problem. */
export function parseEnvelopeHeaders(
  get: (name: string) => string | undefined,
  subject: string,
): ReceivedEnvelope {
  const field = (name: string): string => {
    const value = get(name)
    if (value === undefined || value === "") throw new EnvelopeError("malformed", `missing header ${name}`)
    return value
  }
  const uint = (name: string): number => {
    const value = field(name)
    // 16 digits may exceed 2^53 - 1, where numbers stop being exact (docs/PROTOCOL.md bounds every integer there).
    if (!UINT.test(value) || !Number.isSafeInteger(Number(value)))
      throw new EnvelopeError(
        "malformed",
        `header ${name} must be an unsigned integer up to 2^53 - 1, got '${value}'`,
      )
    return Number(value)
  }
  const version = uint(HEADER.version)
  if (version !== PROTOCOL_VERSION) {
    throw new EnvelopeError(
      "unsupported_version",
      `envelope version ${version} is not supported (expected ${PROTOCOL_VERSION})`,
    )
  }
  const agent = field(HEADER.agent)
  if (!AGENT_ID_PATTERN.test(agent))
    throw new EnvelopeError("malformed", `header ${HEADER.agent} is not a valid agent id`)
  const kind = field(HEADER.kind)
  if (!KIND_TOKEN.test(kind)) throw new EnvelopeError("malformed", `header ${HEADER.kind} is not a kind name`)
  // A well-formed kind this build does not know (a newer agent's) is its own reason, recorded and counted apart.
  if (!isKind(kind))
    throw new EnvelopeError("unsupported_kind", `kind '${kind}' is not known to this collector`)
  const expectedSubject = agentSubject(kind, agent)
  if (subject !== expectedSubject) {
    throw new EnvelopeError(
      "malformed",
      `subject ${subject} does not match agent '${agent}' and kind '${kind}'`,
    )
  }
  const seq = uint(HEADER.seq)
  const bodySha256 = field(HEADER.bodySha256)
  if (!/^[0-9a-f]{64}$/.test(bodySha256))
    throw new EnvelopeError("malformed", `header ${HEADER.bodySha256} is not a SHA-256 hex digest`)
  const id = field(HEADER.msgId)
  const expectedId = envelopeId(agent, seq, bodySha256)
  if (id !== expectedId) throw new EnvelopeError("malformed", `header ${HEADER.msgId} must be ${expectedId}`)
  const signature = Buffer.from(field(HEADER.signature), "base64")
  if (signature.length !== 64)
    throw new EnvelopeError("malformed", `header ${HEADER.signature} must be a base64 64-byte signature`)
  return {
    id,
    version,
    agent,
    host: field(HEADER.host),
    keyId: field(HEADER.keyId),
    kind,
    seq,
    count: boundedCount(uint(HEADER.count)),
    sentAt: boundedSentAt(uint(HEADER.sentAt)),
    subject,
    bodySha256,
    signature: new Uint8Array(signature),
  }
}

/** Checks the body hash and the Ed25519 signature; throws EnvelopeError with reason body_hash or signature. */
export function verifyEnvelope(envelope: ReceivedEnvelope, body: Uint8Array, publicKey: KeyObject): void {
  if (sha256Hex(body) !== envelope.bodySha256) {
    throw new EnvelopeError(
      "body_hash",
      `body of envelope ${envelope.id} from agent '${envelope.agent}' does not match its hash`,
    )
  }
  if (!verify(null, Buffer.from(canonicalString(envelope)), publicKey, envelope.signature)) {
    throw new EnvelopeError(
      "signature",
      `invalid signature on envelope ${envelope.id} from agent '${envelope.agent}'`,
    )
  }
}

/** Entry counts are stored as 32-bit integers; a larger one cannot be a real batch. */
function boundedCount(count: number): number {
  if (count > 2 ** 31 - 1)
    throw new EnvelopeError("malformed", `header ${HEADER.count} is too large (${count})`)
  return count
}

/**
 * Past about 9.2e15 ms a time overflows DuckDB's TIMESTAMP and every write of the envelope would fail (until it
 * is quarantined as unwritable); a later time cannot be genuine, so it is refused at parse time.
 */
function boundedSentAt(sentAt: number): number {
  if (sentAt > MAX_SENT_AT_MS) {
    throw new EnvelopeError(
      "malformed",
      `header ${HEADER.sentAt} must be at most ${MAX_SENT_AT_MS} (9999-12-31T23:59:59.999Z), got ${sentAt}`,
    )
  }
  return sentAt
}
