import { randomBytes } from "node:crypto"
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"

/**
 * The collector's password on its local nats-server: made once into `<dir>/collector.password` (0600) and
 * reused, so a restarted collector (or nats-server) keeps the same one.
 */
export function collectorPassword(dir: string): string {
  const path = join(dir, "collector.password")
  try {
    const existing = readFileSync(path, "utf8").trim()
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
    if (existing.length >= 32) return existing
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error
  }
  const password = randomBytes(32).toString("base64url")
  writeFileSync(path, `${password}\n`, { mode: 0o600 })
  return password
}
