import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto"
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs"
import { ConfigError } from "../../shared/errors.ts"
import { rawPublicKey } from "../../shared/protocol/keys.ts"

// A PEM key is a few hundred bytes; anything this big is not one (and is not read into memory).
const MAX_KEY_FILE_BYTES = 64 * 1024
// Bits that let group or others read or write the file.
const OPEN_BITS = 0o066

const octal = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, "0")}`

/**
 * Loads the agent's Ed25519 private key from `path` (the `private_key_file` setting). Throws a one-line
 * ConfigError when the file is missing, not a regular file, readable or writable by group or others (with the
 * chmod that fixes it), not PEM, or not an Ed25519 private key.
 */
export function loadKeyFile(path: string): { privateKey: KeyObject; publicKeyRaw: Uint8Array } {
  const fail = (code: string, problem: string, cause?: unknown) =>
    new ConfigError(code, `private_key_file: ${path} ${problem}`, { cause })
  let fd: number
  try {
    // O_NONBLOCK: a FIFO put at the path must not hang the start
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)
  } catch (cause) {
    throw fail("key_unreadable", `cannot be read: ${(cause as Error).message}`, cause)
  }
  let pem: string
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw fail("key_unreadable", "is not a regular file")
    if ((st.mode & OPEN_BITS) !== 0) {
      throw fail(
        "key_permissions",
        `has mode ${octal(st.mode)}: a private key must not be readable or writable by group or others; run: chmod 600 ${path}`,
      )
    }
    if (st.size > MAX_KEY_FILE_BYTES)
      throw fail("key_invalid", `is ${st.size} bytes: too large to be a PEM key`)
    pem = readFileSync(fd, "utf8")
  } finally {
    closeSync(fd)
  }
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) {
    throw fail(
      "key_invalid",
      "is not a PEM private key (expected the file written by 'outpost-agent keygen')",
    )
  }
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(pem)
  } catch (cause) {
    const reason = ((cause as Error).message ?? String(cause)).split("\n")[0]
    throw fail("key_invalid", `is not a valid PEM private key (${reason})`, cause)
  }
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw fail(
      "key_invalid",
      `holds a ${privateKey.asymmetricKeyType ?? "non-asymmetric"} key, not Ed25519; make one with 'outpost-agent keygen'`,
    )
  }
  return { privateKey, publicKeyRaw: rawPublicKey(createPublicKey(privateKey)) }
}
