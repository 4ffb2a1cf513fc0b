import { type KeyObject, sign, verify } from "node:crypto"
import { AGENT_ID_PATTERN } from "./keys.ts"

/**
 * Preview token, format version 1: the collector signs it into the link of a chat alert, the agent checks it
 * before serving the preview page. The token is base64url (no padding) of these bytes, integers big-endian:
 *
 *   u8      version = 1
 *   u8      flags: bit 0 = line_end present, bit 1 = at present; the other bits must be 0
 *   u8      agent id length L (1..64)
 *   L       agent id, ASCII, matching AGENT_ID_PATTERN
 *   16      generation id: the 16 bytes of the UUID in `log_files.gen` (crypto.randomUUID)
 *   u64     offset: byte offset in the file where the matched line starts
 *   u64     expires_at: ms since the epoch; the token is refused from that instant on
 *   [u64]   line_end: exclusive end of the matched line's bytes as the collector saw them (no newline)
 *   [u64]   at: when the agent read the line, ms since the epoch
 *   64      Ed25519 signature
 *
 * The signature covers PREVIEW_TOKEN_DOMAIN followed by every byte before it: exactly the bytes sent, so there
 * is no re-serialisation to disagree on, and the prefix keeps a signature made by the same key for another
 * purpose from passing as a preview token. Every u64 must be a safe integer (< 2^53).
 */
export const PREVIEW_TOKEN_VERSION = 1

/** Signed before the token bytes: separates preview signatures from anything else the collector's key signs. */
export const PREVIEW_TOKEN_DOMAIN = "outpost-preview-token\0"

/** Longest token string accepted: a 64-byte agent id and both optional fields make 179 bytes, 239 characters. */
export const MAX_PREVIEW_TOKEN_CHARS = 256

/** What a preview token grants: one line (`offset`) of one file generation (`gen`) on one agent, until expiry. */
export type PreviewClaims = {
  agent: string
  gen: string
  offset: number
  /** ms since the epoch */
  expiresAt: number
  /** exclusive end offset of the matched line's bytes, newline excluded (the collector's view of the line) */
  line_end?: number
  /** when the line was read, ms since the epoch */
  at?: number
}

export type PreviewTokenRefusal = "malformed" | "bad_signature" | "expired" | "other_agent"

export type PreviewTokenResult =
  | { ok: true; claims: PreviewClaims }
  | { ok: false; reason: PreviewTokenRefusal }

/** Generation ids are lowercase UUIDs, as `crypto.randomUUID()` writes them. */
export const GENERATION_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const SIGNATURE_BYTES = 64
const FLAG_LINE_END = 1
const FLAG_AT = 2
const domain = Buffer.from(PREVIEW_TOKEN_DOMAIN, "ascii")

/** Signs `claims` with the collector's private key; throws on claims no agent would accept. */
export function signPreviewToken(claims: PreviewClaims, privateKey: KeyObject): string {
  const problem = claimsProblem(claims)
  if (problem) throw new Error(`cannot sign preview token: ${problem}`)
  const agent = Buffer.from(claims.agent, "ascii")
  const extra = [claims.line_end, claims.at].filter((v) => v !== undefined)
  const payload = Buffer.alloc(3 + agent.length + 16 + 16 + 8 * extra.length)
  payload[0] = PREVIEW_TOKEN_VERSION
  payload[1] = (claims.line_end !== undefined ? FLAG_LINE_END : 0) | (claims.at !== undefined ? FLAG_AT : 0)
  payload[2] = agent.length
  let at = 3 + agent.copy(payload, 3)
  at += Buffer.from(claims.gen.replaceAll("-", ""), "hex").copy(payload, at)
  for (const value of [claims.offset, claims.expiresAt, ...extra]) {
    payload.writeBigUInt64BE(BigInt(value), at)
    at += 8
  }
  const signature = sign(null, Buffer.concat([domain, payload]), privateKey)
  return Buffer.concat([payload, signature]).toString("base64url")
}

/**
 * Checks a token for this agent: its shape, then the signature against each of the collector's keys, then the
 * agent and the expiry. Nothing about the claims is told before the signature holds, so a forger learns nothing.
 */
export function verifyPreviewToken(
  token: string,
  o: { publicKeys: KeyObject[]; agent: string; now: number },
): PreviewTokenResult {
  const parsed = parse(token)
  if (!parsed) return { ok: false, reason: "malformed" }
  const message = Buffer.concat([domain, parsed.payload])
  const signed = o.publicKeys.some(
    (key) => key.asymmetricKeyType === "ed25519" && verify(null, message, key, parsed.signature),
  )
  if (!signed) return { ok: false, reason: "bad_signature" }
  if (parsed.claims.agent !== o.agent) return { ok: false, reason: "other_agent" }
  if (o.now >= parsed.claims.expiresAt) return { ok: false, reason: "expired" }
  return { ok: true, claims: parsed.claims }
}

function parse(token: string): { payload: Buffer; signature: Buffer; claims: PreviewClaims } | undefined {
  // Buffer's decoder skips characters outside the alphabet; only the canonical spelling of the bytes is taken
  if (token.length > MAX_PREVIEW_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined
  const bytes = Buffer.from(token, "base64url")
  if (bytes.toString("base64url") !== token) return undefined
  const [version, flags, agentLength] = bytes
  if (version !== PREVIEW_TOKEN_VERSION || flags === undefined || agentLength === undefined) return undefined
  if ((flags & ~(FLAG_LINE_END | FLAG_AT)) !== 0) return undefined
  const fields = 2 + (flags & FLAG_LINE_END ? 1 : 0) + (flags & FLAG_AT ? 1 : 0)
  const payloadLength = 3 + agentLength + 16 + 8 * fields
  if (bytes.length !== payloadLength + SIGNATURE_BYTES) return undefined
  const agent = bytes.toString("latin1", 3, 3 + agentLength)
  const hex = bytes.toString("hex", 3 + agentLength, 3 + agentLength + 16)
  const gen = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  const numbers: number[] = []
  for (let at = 3 + agentLength + 16; at < payloadLength; at += 8) {
    const value = bytes.readBigUInt64BE(at)
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) return undefined
    numbers.push(Number(value))
  }
  const [offset = 0, expiresAt = 0, ...rest] = numbers
  const claims: PreviewClaims = { agent, gen, offset, expiresAt }
  if (flags & FLAG_LINE_END) claims.line_end = rest.shift()
  if (flags & FLAG_AT) claims.at = rest.shift()
  if (claimsProblem(claims)) return undefined
  return { payload: bytes.subarray(0, payloadLength), signature: bytes.subarray(payloadLength), claims }
}

/** Why no agent would take these claims, or undefined when they are in bounds. */
function claimsProblem(c: PreviewClaims): string | undefined {
  const count = (v: number | undefined) => v === undefined || (Number.isSafeInteger(v) && v >= 0)
  if (!AGENT_ID_PATTERN.test(c.agent)) return `agent id '${c.agent}' must match ${AGENT_ID_PATTERN}`
  if (!GENERATION_ID_PATTERN.test(c.gen)) return `generation '${c.gen}' is not a lowercase UUID`
  if (!count(c.offset) || !count(c.expiresAt) || !count(c.line_end) || !count(c.at)) {
    return "offset, expiresAt, line_end and at must be non-negative safe integers"
  }
  if (c.line_end !== undefined && c.line_end < c.offset) return "line_end lies before offset"
  return undefined
}
