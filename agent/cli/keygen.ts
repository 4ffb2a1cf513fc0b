import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { ConfigError } from "../../shared/errors.ts"
import { AGENT_ID_PATTERN, formatPublicKeyLine, generateAgentKeyPair } from "../../shared/protocol/keys.ts"

/** Writes `<out>` (PEM private key, mode 0600) and `<out>.pub` (the line the collector enrolls). */
export function keygen(
  out: string,
  agent: string,
  force: boolean,
): { privatePath: string; publicPath: string } {
  if (!AGENT_ID_PATTERN.test(agent))
    throw new ConfigError("cli", `--agent '${agent}' must match ${AGENT_ID_PATTERN}`)
  const publicPath = `${out}.pub`
  if (!force && (existsSync(out) || existsSync(publicPath))) {
    throw new ConfigError("cli", `${out} already exists; pass --force to replace it`)
  }
  mkdirSync(dirname(out), { recursive: true })
  const pair = generateAgentKeyPair()
  writeFileSync(out, pair.privateKeyPem, { mode: 0o600 })
  writeFileSync(publicPath, `${formatPublicKeyLine(pair.publicKeyRaw, agent)}\n`)
  return { privatePath: out, publicPath }
}
