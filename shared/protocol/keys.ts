import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto"

/** Prefix of a public key line, in the spirit of ssh's authorized_keys: `outpost-ed25519 <base64> <agent>`. */
export const PUBLIC_KEY_PREFIX = "outpost-ed25519"

/** Ed25519 key pair in the forms the agent keeps: PKCS#8 PEM private key, raw 32-byte public key. */
export type AgentKeyPair = { privateKeyPem: string; publicKeyRaw: Uint8Array }

// DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw key follows it.
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex")

/** Makes a new Ed25519 key pair. */
export function generateAgentKeyPair(): AgentKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519")
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyRaw: rawPublicKey(publicKey),
  }
}

/** The raw 32 bytes of an Ed25519 public key object. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ type: "spki", format: "der" })
  return new Uint8Array(der.subarray(der.length - 32))
}

/** Loads a private key from PEM and returns it with its raw public key. */
export function loadPrivateKey(pem: string): { privateKey: KeyObject; publicKeyRaw: Uint8Array } {
  const privateKey = createPrivateKey(pem)
  if (privateKey.asymmetricKeyType !== "ed25519") throw new Error("private key is not an Ed25519 key")
  return { privateKey, publicKeyRaw: rawPublicKey(createPublicKey(privateKey)) }
}

/** A KeyObject for a raw 32-byte Ed25519 public key. */
export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new Error(`an Ed25519 public key has 32 bytes, got ${raw.length}`)
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: "der", type: "spki" })
}

/** Short stable id of a public key: first 16 hex digits of its SHA-256. */
export function keyId(publicKeyRaw: Uint8Array): string {
  return createHash("sha256").update(publicKeyRaw).digest("hex").slice(0, 16)
}

/** The one-line public key file the collector enrolls. */
export function formatPublicKeyLine(publicKeyRaw: Uint8Array, agent: string): string {
  return `${PUBLIC_KEY_PREFIX} ${Buffer.from(publicKeyRaw).toString("base64")} ${agent}`
}

/** Parses one enrolled key line; returns null for blank and comment lines, throws on malformed ones. */
export function parsePublicKeyLine(line: string): { agent: string; publicKeyRaw: Uint8Array } | null {
  const trimmed = line.trim()
  if (trimmed === "" || trimmed.startsWith("#")) return null
  const [prefix, b64, agent, ...rest] = trimmed.split(/\s+/)
  if (prefix !== PUBLIC_KEY_PREFIX || !b64 || !agent || rest.length > 0) {
    throw new Error(`expected '${PUBLIC_KEY_PREFIX} <base64 key> <agent id>'`)
  }
  const publicKeyRaw = new Uint8Array(Buffer.from(b64, "base64"))
  if (publicKeyRaw.length !== 32) throw new Error(`key must decode to 32 bytes, got ${publicKeyRaw.length}`)
  if (!AGENT_ID_PATTERN.test(agent)) throw new Error(`agent id '${agent}' must match ${AGENT_ID_PATTERN}`)
  return { agent, publicKeyRaw }
}

/** Agent ids are subject tokens: no dots, spaces or wildcards. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/
