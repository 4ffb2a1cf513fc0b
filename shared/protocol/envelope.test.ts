import { describe, expect, test } from "bun:test"
import nacl from "tweetnacl"
import { EnvelopeError } from "../errors.ts"
import {
  canonicalString,
  generateAgentKeyPair,
  HEADER,
  keyId,
  loadPrivateKey,
  parseEnvelopeHeaders,
  publicKeyFromRaw,
  type SignedEnvelope,
  signEnvelope,
  verifyEnvelope,
} from "./index.ts"

const pair = generateAgentKeyPair()
const { privateKey, publicKeyRaw } = loadPrivateKey(pair.privateKeyPem)
const body = new TextEncoder().encode("hello\nworld\n")

function make(overrides: Partial<Parameters<typeof signEnvelope>[0]> = {}): SignedEnvelope {
  return signEnvelope({
    privateKey,
    keyId: keyId(publicKeyRaw),
    agent: "edge-1",
    host: "web-01",
    kind: "logs",
    seq: 42,
    count: 2,
    sentAt: 1_700_000_000_000,
    body,
    ...overrides,
  })
}

function receive(env: SignedEnvelope, subject = env.subject) {
  return parseEnvelopeHeaders((name) => env.headers[name], subject)
}

describe("envelope signing", () => {
  test("a signed envelope verifies with the agent's public key", () => {
    const env = make()
    const received = receive(env)
    expect(received.agent).toBe("edge-1")
    expect(received.seq).toBe(42)
    expect(() => verifyEnvelope(received, env.body, publicKeyFromRaw(publicKeyRaw))).not.toThrow()
  })

  test("tweetnacl verifies the native signature and derives the same public key", () => {
    const env = make()
    const received = receive(env)
    const message = new TextEncoder().encode(canonicalString(received))
    expect(nacl.sign.detached.verify(message, received.signature, publicKeyRaw)).toBe(true)
    // The PKCS#8 DER ends with the 32-byte seed; tweetnacl must derive the same public key from it.
    const der = privateKey.export({ type: "pkcs8", format: "der" })
    const seed = new Uint8Array(der.subarray(der.length - 32))
    const naclPair = nacl.sign.keyPair.fromSeed(seed)
    expect(Buffer.from(naclPair.publicKey).equals(Buffer.from(publicKeyRaw))).toBe(true)
    // Ed25519 is deterministic: both libraries produce the same signature bytes.
    expect(
      Buffer.from(nacl.sign.detached(message, naclPair.secretKey)).equals(Buffer.from(received.signature)),
    ).toBe(true)
  })

  const other = generateAgentKeyPair()
  const reasonOf = (fn: () => unknown): string => {
    try {
      fn()
    } catch (error) {
      return error instanceof EnvelopeError ? error.code : `unexpected ${String(error)}`
    }
    return "accepted"
  }
  const flipByte = (bytes: Uint8Array) => {
    const copy = new Uint8Array(bytes)
    copy[0] = (copy[0] ?? 0) ^ 1
    return copy
  }

  test.each([
    ["tampered body", (e: SignedEnvelope) => ({ ...e, body: flipByte(e.body) }), "body_hash"],
    [
      "tampered count",
      (e: SignedEnvelope) => ({ ...e, headers: { ...e.headers, [HEADER.count]: "3" } }),
      "signature",
    ],
    [
      "tampered host",
      (e: SignedEnvelope) => ({ ...e, headers: { ...e.headers, [HEADER.host]: "evil" } }),
      "signature",
    ],
    [
      "missing signature",
      (e: SignedEnvelope) => ({ ...e, headers: { ...e.headers, [HEADER.signature]: "" } }),
      "malformed",
    ],
    [
      "short signature",
      (e: SignedEnvelope) => ({ ...e, headers: { ...e.headers, [HEADER.signature]: "AAAA" } }),
      "malformed",
    ],
    [
      "non-numeric seq",
      (e: SignedEnvelope) => ({ ...e, headers: { ...e.headers, [HEADER.seq]: "4x" } }),
      "malformed",
    ],
    [
      "count past 32 bits",
      (e: SignedEnvelope) => ({ ...e, headers: { ...e.headers, [HEADER.count]: "4294967296" } }),
      "malformed",
    ],
    [
      "seq past 2^53",
      (e: SignedEnvelope) => ({ ...e, headers: { ...e.headers, [HEADER.seq]: "9999999999999999" } }),
      "malformed",
    ],
    [
      "unknown kind",
      (e: SignedEnvelope) => ({ ...e, headers: { ...e.headers, [HEADER.kind]: "spam" } }),
      "malformed",
    ],
    [
      "future version",
      (e: SignedEnvelope) => ({ ...e, headers: { ...e.headers, [HEADER.version]: "9" } }),
      "unsupported_version",
    ],
    ["other subject", (e: SignedEnvelope) => ({ ...e, subject: "outpost.logs.edge-2" }), "malformed"],
    [
      "msg id mismatch",
      (e: SignedEnvelope) => ({ ...e, headers: { ...e.headers, [HEADER.msgId]: "edge-1.1" } }),
      "malformed",
    ],
    [
      "msg id without the body hash (the pre-hash form a squatter could guess)",
      (e: SignedEnvelope) => ({
        ...e,
        headers: { ...e.headers, [HEADER.msgId]: `edge-1.${e.headers[HEADER.seq]}` },
      }),
      "malformed",
    ],
    [
      "msg id with another body's hash",
      (e: SignedEnvelope) => ({
        ...e,
        headers: { ...e.headers, [HEADER.msgId]: `edge-1.${e.headers[HEADER.seq]}.0123456789abcdef` },
      }),
      "malformed",
    ],
  ])("%s is rejected", (_name, mutate, reason) => {
    const env = mutate(make())
    expect(reasonOf(() => verifyEnvelope(receive(env), env.body, publicKeyFromRaw(publicKeyRaw)))).toBe(
      reason,
    )
  })

  test("a signature by another key is rejected", () => {
    const env = make()
    const otherKey = loadPrivateKey(other.privateKeyPem)
    expect(
      reasonOf(() => verifyEnvelope(receive(env), env.body, publicKeyFromRaw(otherKey.publicKeyRaw))),
    ).toBe("signature")
  })
})
