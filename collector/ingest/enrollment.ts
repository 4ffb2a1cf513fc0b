import type { KeyObject } from "node:crypto"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { ConfigError } from "../../shared/errors.ts"
import { keyId, parsePublicKeyLine, publicKeyFromRaw } from "../../shared/protocol/keys.ts"

/** Enrolled agents: agent id -> key id -> public key. */
export type Enrollment = Map<string, Map<string, KeyObject>>

/** Reads a keys file (one `outpost-ed25519 <key> <agent>` line each) or a directory of `*.pub` files. */
export function loadEnrollment(path: string): Enrollment {
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
      {
        cause,
      },
    )
  }
  const enrollment: Enrollment = new Map()
  // One key is one agent: it is also that agent's NATS login, so a key listed for two agents is refused.
  const owner = new Map<string, string>()
  for (const file of files) {
    readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, index) => {
        let parsed: ReturnType<typeof parsePublicKeyLine>
        try {
          parsed = parsePublicKeyLine(line)
        } catch (error) {
          throw new ConfigError(
            "enrollment_invalid",
            `enrolled_keys: ${file}:${index + 1}: ${(error as Error).message}`,
          )
        }
        if (!parsed) return
        const id = keyId(parsed.publicKeyRaw)
        const other = owner.get(id)
        if (other !== undefined && other !== parsed.agent) {
          throw new ConfigError(
            "enrollment_invalid",
            `enrolled_keys: ${file}:${index + 1}: key ${id} is already enrolled for agent '${other}'; one key belongs to one agent`,
          )
        }
        owner.set(id, parsed.agent)
        const keys = enrollment.get(parsed.agent) ?? new Map<string, KeyObject>()
        keys.set(id, publicKeyFromRaw(parsed.publicKeyRaw))
        enrollment.set(parsed.agent, keys)
      })
  }
  return enrollment
}
