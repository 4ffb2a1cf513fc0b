import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { ConfigError } from "../../shared/errors.ts"
import { keyId, parsePublicKeyLine } from "../../shared/protocol/keys.ts"

export type EnrollResult = {
  agent: string
  keyId: string
  status: "enrolled" | "already_enrolled"
  path: string
}

/** Writes `text` to `path` through a temp file and a rename, so a running collector never reads half a file. */
function replaceFile(path: string, text: string, mode: number) {
  const tmp = join(dirname(path), `.${Date.now()}-${process.pid}.enroll.tmp`)
  writeFileSync(tmp, text, { mode })
  renameSync(tmp, path)
}

/**
 * Adds an agent's public key line (`outpost-ed25519 <key> <agent>`, as in the agent's `.pub` file) to
 * `enrolled_keys`: appended to the file, or written as `<agent>-<key id>.pub` when it is a directory. A running
 * collector notices within a second (or on SIGHUP), lets the agent connect to its local NATS and ingests what
 * it quarantined from that agent.
 */
export function enrollKey(enrolledKeys: string, line: string): EnrollResult {
  let parsed: ReturnType<typeof parsePublicKeyLine>
  try {
    parsed = parsePublicKeyLine(line)
  } catch (error) {
    throw new ConfigError("enroll_invalid", `not a public key line: ${(error as Error).message}`)
  }
  if (!parsed) throw new ConfigError("enroll_invalid", "no public key line given (blank or a comment)")
  const id = keyId(parsed.publicKeyRaw)
  const normalized = line.trim().split(/\s+/).join(" ")
  const isDir = existsSync(enrolledKeys) && statSync(enrolledKeys).isDirectory()
  const path = isDir ? join(enrolledKeys, `${parsed.agent}-${id}.pub`) : enrolledKeys
  const current = existsSync(path) ? readFileSync(path, "utf8") : ""
  const already = current.split("\n").some((l) => {
    try {
      const other = parsePublicKeyLine(l)
      return other?.agent === parsed.agent && keyId(other.publicKeyRaw) === id
    } catch {
      return false
    }
  })
  if (already) return { agent: parsed.agent, keyId: id, status: "already_enrolled", path }
  const mode = existsSync(path) ? statSync(path).mode & 0o777 : 0o644
  const sep = current === "" || current.endsWith("\n") ? "" : "\n"
  replaceFile(path, `${current}${sep}${normalized}\n`, mode)
  return { agent: parsed.agent, keyId: id, status: "enrolled", path }
}
