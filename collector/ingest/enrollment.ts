import type { KeyObject } from "node:crypto"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { ConfigError } from "../../shared/errors.ts"
import { keyId, parsePublicKeyLine, publicKeyFromRaw } from "../../shared/protocol/keys.ts"

/** Enrolled agents: agent id -> key id -> public key. */
export type Enrollment = Map<string, Map<string, KeyObject>>

/** One enrolled key line. */
export type EnrolledKey = { agent: string; publicKeyRaw: Uint8Array; keyId: string }

/**
 * Reads `enrolled_keys`: a file of `outpost-ed25519 <key> <agent>` lines or a directory of `*.pub` files.
 * A bad line is an error naming file and line. One key belongs to one agent: it is also that agent's NATS login,
 * so a key listed for two agents is refused.
 */
export function readEnrolledKeys(path: string): EnrolledKey[] {
  let files: string[]
  try {
    files = statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((name) => name.endsWith(".pub"))
          .sort()
          .map((name) => join(path, name))
      : [path]
  } catch (cause) {
    throw new ConfigError(
      "enrollment_unreadable",
      `enrolled_keys: cannot read ${path}: ${(cause as Error).message}`,
      { cause },
    )
  }
  const keys: EnrolledKey[] = []
  const owner = new Map<string, string>()
  for (const file of files) {
    readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, index) => {
        const where = `enrolled_keys: ${file}:${index + 1}`
        let parsed: ReturnType<typeof parsePublicKeyLine>
        try {
          parsed = parsePublicKeyLine(line)
        } catch (error) {
          throw new ConfigError("enrollment_invalid", `${where}: ${(error as Error).message}`)
        }
        if (!parsed) return
        const id = keyId(parsed.publicKeyRaw)
        const other = owner.get(id)
        if (other !== undefined && other !== parsed.agent) {
          throw new ConfigError(
            "enrollment_invalid",
            `${where}: key ${id} is already enrolled for agent '${other}'; one key belongs to one agent`,
          )
        }
        owner.set(id, parsed.agent)
        keys.push({ ...parsed, keyId: id })
      })
  }
  return keys
}

/** The enrolled keys as verification needs them. */
export function loadEnrollment(path: string): Enrollment {
  const enrollment: Enrollment = new Map()
  for (const k of readEnrolledKeys(path)) {
    const keys = enrollment.get(k.agent) ?? new Map<string, KeyObject>()
    keys.set(k.keyId, publicKeyFromRaw(k.publicKeyRaw))
    enrollment.set(k.agent, keys)
  }
  return enrollment
}
