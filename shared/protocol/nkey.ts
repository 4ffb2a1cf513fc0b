import type { KeyObject } from "node:crypto"
import { fromPublic, fromSeed } from "@nats-io/nkeys"

// An agent's NATS identity is its Ed25519 signing key itself: NATS NKEY users are Ed25519 keys written in
// NATS's own text form, so the collector can derive a user's public key (`U...`) from the enrolled line and
// the agent its seed (`SU...`) from its private key, with no second secret to hand around.

// NKEY prefix bytes: the role is in the top 5 bits (value << 3).
const PREFIX_SEED = 18 << 3
const PREFIX_USER = 20 << 3
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

/** The NATS user public key (`U...`, 56 characters) of a raw 32-byte Ed25519 public key. */
export function natsUserPublicKey(publicKeyRaw: Uint8Array): string {
  if (publicKeyRaw.length !== 32)
    throw new Error(`an Ed25519 public key has 32 bytes, got ${publicKeyRaw.length}`)
  const key = encode(Uint8Array.of(PREFIX_USER, ...publicKeyRaw))
  fromPublic(key) // checks prefix and checksum the way nats.js and nats-server read it
  return key
}

/** The NATS user seed (`SU...`, as bytes, the form nats.js takes) of an Ed25519 private key. */
export function natsUserSeed(privateKey: KeyObject): Uint8Array {
  if (privateKey.asymmetricKeyType !== "ed25519") throw new Error("private key is not an Ed25519 key")
  const jwk = privateKey.export({ format: "jwk" })
  if (typeof jwk.d !== "string") throw new Error("not a private key")
  const raw = Buffer.from(jwk.d, "base64url")
  // A seed carries the seed prefix and the role (user) across its first two bytes.
  const seed = new TextEncoder().encode(
    encode(Uint8Array.of(PREFIX_SEED | (PREFIX_USER >> 5), (PREFIX_USER & 31) << 3, ...raw)),
  )
  fromSeed(seed) // throws if nats.js could not use it
  return seed
}

function encode(payload: Uint8Array): string {
  const crc = crc16(payload)
  return base32(Uint8Array.of(...payload, crc & 0xff, crc >> 8))
}

// CRC-16/XMODEM (polynomial 0x1021, initial value 0), stored little-endian after the payload.
function crc16(bytes: Uint8Array): number {
  let crc = 0
  for (const byte of bytes) {
    crc ^= byte << 8
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

// RFC 4648 base32 without padding (NKEYs are 35 or 36 bytes, always whole characters once unpadded).
function base32(bytes: Uint8Array): string {
  let out = ""
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff
    bits += 8
    while (bits >= 5) {
      out += BASE32[(buffer >> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31]
  return out
}

/** Prefix of the reply inboxes an agent uses (nats.js `inboxPrefix`): the only subjects it may subscribe to. */
export function agentInboxPrefix(agent: string): string {
  return `_INBOX_${agent}`
}

/** What an agent's NATS user may do: publish its own envelopes and control requests, receive its replies. */
export function agentNatsPermissions(agent: string): { publish: string[]; subscribe: string[] } {
  return {
    publish: [`outpost.*.${agent}`, `outpost-ctl.${agent}.>`],
    subscribe: [`${agentInboxPrefix(agent)}.>`],
  }
}
