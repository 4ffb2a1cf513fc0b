import { lstatSync, mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { ConfigError } from "../../shared/errors.ts"
import { AGENT_ID_PATTERN, formatPublicKeyLine, generateAgentKeyPair } from "../../shared/protocol/keys.ts"
import { replaceFile } from "./atomic-write.ts"

/** Something (a file, a symlink, even a dangling one) is at `path`. */
const taken = (path: string) => lstatSync(path, { throwIfNoEntry: false }) !== undefined

/**
 * Writes `<out>` (PEM private key, mode 0600) and `<out>.pub` (the line the collector enrolls). With `force`
 * each replaces what was there (a symlink is replaced, not followed) and the key is 0600 whatever the old file was.
 */
export function keygen(
  out: string,
  agent: string,
  force: boolean,
): { privatePath: string; publicPath: string } {
  if (!AGENT_ID_PATTERN.test(agent))
    throw new ConfigError("cli", `--agent '${agent}' must match ${AGENT_ID_PATTERN}`)
  const publicPath = `${out}.pub`
  if (!force && (taken(out) || taken(publicPath))) {
    throw new ConfigError("cli", `${out} already exists; pass --force to replace it`)
  }
  const pair = generateAgentKeyPair()
  const write = (path: string, data: string, mode: number) => {
    try {
      replaceFile(path, data, mode)
    } catch (cause) {
      throw new ConfigError("cli", `cannot write ${path}: ${(cause as Error).message}`, { cause })
    }
  }
  try {
    mkdirSync(dirname(out), { recursive: true })
  } catch (cause) {
    throw new ConfigError("cli", `cannot create ${dirname(out)}: ${(cause as Error).message}`, { cause })
  }
  write(out, pair.privateKeyPem, 0o600)
  write(publicPath, `${formatPublicKeyLine(pair.publicKeyRaw, agent)}\n`, 0o644)
  return { privatePath: out, publicPath }
}
