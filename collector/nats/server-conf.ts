import { renameSync, writeFileSync } from "node:fs"
import type { LocalNatsTls } from "../../shared/config/nats-schema.ts"
import { authorizationBlock, type NatsAgent, q } from "./auth-config.ts"

/** Everything the generated nats-server.conf says. */
export type ServerConfOptions = {
  host: string
  port: number
  maxPayloadBytes: number
  storeDir: string
  pidFile: string
  collectorPassword: string
  agents: NatsAgent[]
  tls?: LocalNatsTls
}

/** The text of the local nats-server's config file. */
export function renderServerConf(options: ServerConfOptions): string {
  const lines = [
    "# Written by outpost-collector at every start and enrollment change; edits are lost.",
    `listen: ${q(`${options.host}:${options.port}`)}`,
    `max_payload: ${options.maxPayloadBytes}`,
    `pid_file: ${q(options.pidFile)}`,
    `jetstream { store_dir: ${q(options.storeDir)} }`,
    authorizationBlock(options.collectorPassword, options.agents),
  ]
  if (options.tls) lines.push(tlsBlock(options.tls))
  return `${lines.join("\n")}\n`
}

function tlsBlock(tls: LocalNatsTls): string {
  const body = [`  cert_file: ${q(tls.cert_file)}`, `  key_file: ${q(tls.key_file)}`]
  if (tls.ca_file) body.push(`  ca_file: ${q(tls.ca_file)}`)
  if (tls.verify_clients) body.push("  verify: true")
  return ["tls {", ...body, "}"].join("\n")
}

/** Replaces `path` in one step (write a temp file, rename): nats-server never reads half a config. */
export function writeConfAtomically(path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`
  // 0600: it holds the collector's password.
  writeFileSync(temp, text, { mode: 0o600 })
  renameSync(temp, path)
}
