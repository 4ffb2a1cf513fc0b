import { expect, test } from "bun:test"
import { createPrivateKey, createPublicKey, verify } from "node:crypto"
import { fromPublic, fromSeed } from "@nats-io/nkeys"
import {
  formatPublicKeyLine,
  generateAgentKeyPair,
  loadPrivateKey,
  parsePublicKeyLine,
  rawPublicKey,
} from "./keys.ts"
import { natsUserPublicKey, natsUserSeed } from "./nkey.ts"

// PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows it.
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex")

function privateKeyFromSeed(seed: Uint8Array) {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" })
}

function base32Decode(text: string): Uint8Array {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
  const out: number[] = []
  let buffer = 0
  let bits = 0
  for (const char of text) {
    buffer = ((buffer << 5) | alphabet.indexOf(char)) & 0xffff
    bits += 5
    if (bits >= 8) {
      out.push((buffer >> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return new Uint8Array(out)
}

test("the seed derived from the agent's private key presents the public key derived from its enrolled line", () => {
  const pair = generateAgentKeyPair()
  const line = formatPublicKeyLine(pair.publicKeyRaw, "edge-1")
  const enrolled = parsePublicKeyLine(line)
  if (!enrolled) throw new Error("line did not parse")
  const seed = natsUserSeed(loadPrivateKey(pair.privateKeyPem).privateKey)
  const kp = fromSeed(seed)
  expect(kp.getPublicKey()).toBe(natsUserPublicKey(enrolled.publicKeyRaw))
  // what nats-server checks: the nonce signature verifies with the enrolled key
  const nonce = new TextEncoder().encode("server-nonce")
  const sig = kp.sign(nonce)
  expect(verify(null, nonce, createPublicKey(pair.privateKeyPem), sig)).toBe(true)
})

test("known vector: the nk tool's documented user key pair", () => {
  // `nk -gen user -pubout` output from the NATS server documentation (NKey authentication page).
  const seedText = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY"
  const publicText = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4"
  const rawSeed = base32Decode(seedText).subarray(2, 34)
  const privateKey = privateKeyFromSeed(rawSeed)
  expect(new TextDecoder().decode(natsUserSeed(privateKey))).toBe(seedText)
  expect(natsUserPublicKey(rawPublicKey(createPublicKey(privateKey)))).toBe(publicText)
})

// Values cross-checked with the nkeys package's own encoder.
test("known vector: RFC 8032 test 1 key (the key PROTOCOL.md's signing example uses)", () => {
  const seed = Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex")
  const publicKeyRaw = Buffer.from("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "hex")
  const privateKey = privateKeyFromSeed(seed)
  const seedText = new TextDecoder().decode(natsUserSeed(privateKey))
  expect(seedText).toBe("SUAJ2YNRTXX72WTAXKCEV5ES5QWMIRCJYVUXWMTJDFYDXLADDSXH6YALCA")
  expect(natsUserPublicKey(publicKeyRaw)).toBe("UDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRUVAL")
  expect(fromPublic(natsUserPublicKey(publicKeyRaw)).getPublicKey()).toBe(
    fromSeed(new TextEncoder().encode(seedText)).getPublicKey(),
  )
})

test("a raw public key of the wrong length is refused", () => {
  expect(() => natsUserPublicKey(new Uint8Array(31))).toThrow("32 bytes, got 31")
})
