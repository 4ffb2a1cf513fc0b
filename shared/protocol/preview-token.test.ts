import { describe, expect, test } from "bun:test"
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto"
import {
  formatPublicKeyLine,
  generateAgentKeyPair,
  loadPrivateKey,
  parsePublicKeyLine,
  publicKeyFromRaw,
} from "./keys.ts"
import {
  MAX_PREVIEW_TOKEN_CHARS,
  PREVIEW_TOKEN_DOMAIN,
  type PreviewClaims,
  signPreviewToken,
  verifyPreviewToken,
} from "./preview-token.ts"

function keyPair() {
  const pair = generateAgentKeyPair()
  return {
    privateKey: loadPrivateKey(pair.privateKeyPem).privateKey,
    publicKey: publicKeyFromRaw(pair.publicKeyRaw),
  }
}

const collector = keyPair()
const NOW = 1_700_000_000_000
const claims: PreviewClaims = {
  agent: "edge-1",
  gen: "0f8e2c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
  offset: 123_456,
  expiresAt: NOW + 86_400_000,
  line_end: 123_500,
  at: NOW - 5_000,
}
const good = signPreviewToken(claims, collector.privateKey)
type CheckOptions = Partial<{ publicKeys: KeyObject[]; agent: string; now: number }>
const check = (token: string, over: CheckOptions = {}) =>
  verifyPreviewToken(token, { publicKeys: [collector.publicKey], agent: "edge-1", now: NOW, ...over })

// byte layout for agent "edge-1": version 0, flags 1, length 2, agent 3-8, gen 9-24, offset 25-32,
// expires_at 33-40, line_end 41-48, at 49-56, signature 57-120
const bytes = (token: string) => Buffer.from(token, "base64url")
const token = (b: Uint8Array) => Buffer.from(b).toString("base64url")
const edit = (at: number, change: (b: number) => number) => {
  const b = bytes(good)
  b[at] = change(b[at] ?? 0)
  return token(b)
}
/** Bytes signed properly by the collector: they fail for their content, not their signature. */
const signedBytes = (payload: Uint8Array, key = collector.privateKey) =>
  token(
    Buffer.concat([payload, sign(null, Buffer.concat([Buffer.from(PREVIEW_TOKEN_DOMAIN), payload]), key)]),
  )
const payloadOf = (t: string) => bytes(t).subarray(0, bytes(t).length - 64)
const withU64 = (at: number, value: bigint) => {
  const p = Buffer.from(payloadOf(good))
  p.writeBigUInt64BE(value, at)
  return p
}

describe("preview token", () => {
  test("round trip, with and without the optional fields; the header bytes are as documented", () => {
    expect(check(good)).toEqual({ ok: true, claims })
    const { line_end: _, at: __, ...bare } = claims
    const short = signPreviewToken(bare, collector.privateKey)
    expect(check(short)).toEqual({ ok: true, claims: bare })
    expect([...bytes(good).subarray(0, 3)]).toEqual([1, 3, 6])
    expect(bytes(good)).toHaveLength(121)
    expect(bytes(short)).toHaveLength(105)
    expect(good).toMatch(/^[A-Za-z0-9_-]+$/) // URL-safe, no padding
    const gen = crypto.randomUUID() // the agent's own generation ids
    expect(check(signPreviewToken({ ...bare, gen }, collector.privateKey))).toMatchObject({ ok: true })
  })

  test("the longest token fits the length bound", () => {
    const agent = "a".repeat(64)
    const big = { ...claims, agent, offset: Number.MAX_SAFE_INTEGER, line_end: Number.MAX_SAFE_INTEGER }
    const t = signPreviewToken(big, collector.privateKey)
    expect(t.length).toBeLessThanOrEqual(MAX_PREVIEW_TOKEN_CHARS)
    expect(check(t, { agent })).toEqual({ ok: true, claims: big })
  })

  test.each<[string, () => string, CheckOptions, string]>([
    ["agent tampered (edge-1 -> edge-2)", () => edit(8, () => "2".charCodeAt(0)), {}, "bad_signature"],
    [
      "agent tampered, checked as edge-2",
      () => edit(8, () => "2".charCodeAt(0)),
      { agent: "edge-2" },
      "bad_signature",
    ],
    ["generation tampered", () => edit(20, (b) => b ^ 1), {}, "bad_signature"],
    ["offset tampered", () => edit(32, (b) => b ^ 1), {}, "bad_signature"],
    ["expiry pushed out", () => edit(36, (b) => b + 1), {}, "bad_signature"],
    ["line_end tampered", () => edit(48, (b) => b ^ 1), {}, "bad_signature"],
    ["at tampered", () => edit(56, (b) => b ^ 1), {}, "bad_signature"],
    ["signature tampered", () => edit(100, (b) => b ^ 1), {}, "bad_signature"],
    ["optional field stripped (flag and bytes)", () => stripAt(), {}, "bad_signature"],
    ["version byte changed", () => edit(0, () => 2), {}, "malformed"],
    ["unknown flag bit", () => edit(1, (b) => b | 4), {}, "malformed"],
    ["agent length changed", () => edit(2, (b) => b + 1), {}, "malformed"],
    ["truncated by one byte", () => token(bytes(good).subarray(0, -1)), {}, "malformed"],
    ["truncated to the header", () => token(bytes(good).subarray(0, 3)), {}, "malformed"],
    ["one extra byte", () => token(Buffer.concat([bytes(good), Buffer.of(0)])), {}, "malformed"],
    ["signed by another key", () => signPreviewToken(claims, keyPair().privateKey), {}, "bad_signature"],
    ["no collector key configured", () => good, { publicKeys: [] }, "bad_signature"],
    ["expired by 1 ms", () => good, { now: claims.expiresAt + 1 }, "expired"],
    ["at the instant of expiry", () => good, { now: claims.expiresAt }, "expired"],
    [
      "expired, tampered: the signature is told",
      () => edit(30, (b) => b ^ 1),
      { now: NOW * 2 },
      "bad_signature",
    ],
    ["another agent's token", () => good, { agent: "edge-2" }, "other_agent"],
    [
      "version 2, validly signed",
      () => signedBytes(Buffer.concat([Buffer.of(2), payloadOf(good).subarray(1)])),
      {},
      "malformed",
    ],
    ["offset past 2^53, validly signed", () => signedBytes(withU64(25, 2n ** 53n)), {}, "malformed"],
    ["line_end before offset, validly signed", () => signedBytes(withU64(41, 5n)), {}, "malformed"],
    [
      "agent id with a dot, validly signed",
      () => signedBytes(setByte(payloadOf(good), 4, 46)),
      {},
      "malformed",
    ],
    ["garbage", () => "not a token at all", {}, "malformed"],
    ["garbage in the alphabet", () => "AAAAAAAAAAAAAAAA", {}, "malformed"],
    ["empty", () => "", {}, "malformed"],
    ["with padding", () => `${good}=`, {}, "malformed"],
    ["standard base64 alphabet", () => Buffer.from(bytes(good)).toString("base64"), {}, "malformed"],
    ["non-canonical last character", () => nonCanonical(), {}, "malformed"],
    ["path-like", () => "../../etc/passwd", {}, "malformed"],
    ["too long", () => "A".repeat(MAX_PREVIEW_TOKEN_CHARS + 4), {}, "malformed"],
  ])("%s", (_name, make, over, reason) => {
    expect(check(make(), over)).toEqual({ ok: false, reason: reason as never })
  })

  test("the collector's key as a config line (outpost-ed25519 <base64> <name>) verifies its tokens", () => {
    const pair = generateAgentKeyPair()
    const line = formatPublicKeyLine(pair.publicKeyRaw, "collector")
    const parsed = parsePublicKeyLine(line)
    if (!parsed) throw new Error("line did not parse")
    const t = signPreviewToken(claims, loadPrivateKey(pair.privateKeyPem).privateKey)
    expect(check(t, { publicKeys: [publicKeyFromRaw(parsed.publicKeyRaw)] })).toMatchObject({ ok: true })
  })

  test("1 ms before expiry it is accepted", () => {
    expect(check(good, { now: claims.expiresAt - 1 })).toMatchObject({ ok: true })
  })

  test("any of several collector keys (rotation); a non-Ed25519 key is never used", () => {
    const next = keyPair()
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey
    const t = signPreviewToken(claims, next.privateKey)
    expect(check(t, { publicKeys: [rsa, collector.publicKey, next.publicKey] })).toMatchObject({ ok: true })
    expect(check(t, { publicKeys: [rsa, collector.publicKey] })).toEqual({
      ok: false,
      reason: "bad_signature",
    })
  })

  test.each<[string, Partial<PreviewClaims>]>([
    ["a generation that is not a UUID", { gen: "../../etc/passwd" }],
    ["an uppercase UUID", { gen: claims.gen.toUpperCase() }],
    ["a negative offset", { offset: -1 }],
    ["a fractional offset", { offset: 1.5 }],
    ["an unsafe offset", { offset: 2 ** 53 }],
    ["a bad agent id", { agent: "edge.1" }],
    ["line_end before offset", { line_end: 1 }],
  ])("signing refuses %s", (_name, change) => {
    expect(() => signPreviewToken({ ...claims, ...change }, collector.privateKey)).toThrow("cannot sign")
  })
})

function stripAt(): string {
  const p = Buffer.from(payloadOf(good).subarray(0, 49))
  p[1] = 1
  return token(Buffer.concat([p, bytes(good).subarray(57)]))
}

function setByte(b: Uint8Array, at: number, value: number): Buffer {
  const copy = Buffer.from(b)
  copy[at] = value
  return copy
}

// 121 bytes leave 4 spare bits in the last character; setting them spells the same bytes differently
function nonCanonical(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  const last = alphabet.indexOf(good.at(-1) ?? "A")
  return good.slice(0, -1) + alphabet[last | 1]
}
