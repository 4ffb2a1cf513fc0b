import { bindable, natsUrl, readableFile, writableDir } from "../../shared/config/preflight.ts"
import { ConfigError } from "../../shared/errors.ts"
import { loadKeyFile } from "../cli/key-file.ts"
import { previewKeys } from "../preview/checks.ts"
import { compileRules } from "../sources/logs/rules.ts"
import { checkUrlChecks, urlCheckHostProblems } from "../sources/urls/checks.ts"
import type { AgentConfig, LogsSourceConfig } from "./schema.ts"

/** Room kept inside the server's max_payload for the headers and the body's manifest. */
export const ENVELOPE_OVERHEAD = 64 * 1024
/**
 * Room a capped line needs beyond `max_line_bytes` against the server's limit: its newline inside a block of
 * whole lines, and its share of the manifest (a part entry, the file's path and generation, a span), with a margin.
 */
export const LINE_MARGIN = 1024

/** The payload bytes one envelope may carry: `batch.max_bytes`, but never more than the server takes. */
export function envelopeLimit(batchMaxBytes: number, maxPayload: number): number {
  return Math.max(0, Math.min(batchMaxBytes, maxPayload - ENVELOPE_OVERHEAD))
}

const list = (problems: string[]) => problems.map((p) => `  ${p}`).join("\n")

/**
 * Cross-field checks of a config that passed its schema, before anything starts (`run` and `check-config`): no
 * source may read more at once (`read_chunk_bytes`) or cap lines higher (`max_line_bytes`) than one envelope
 * holds (`batch.max_bytes`). Throws one ConfigError listing every problem.
 */
export function checkAgentConfig(config: AgentConfig, origin = "config"): void {
  throwProblems(origin, [
    ...sizeProblems(config),
    ...ruleProblems(config),
    ...checkUrlChecks(config.urls, config.agent_id),
    ...previewKeys(config.preview).problems,
  ])
}

/**
 * What `run` needs of this host, checked by `check-config` too: the key readable and valid, the state directory
 * creatable and writable, NATS URLs, credential and TLS files readable.
 */
export function checkAgentHost(config: AgentConfig, origin = "config"): void {
  let keyCode = "config_invalid"
  try {
    loadKeyFile(config.private_key_file)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    keyCode = error.code
  }
  const problems = hostProblems(config)
  // A key problem alone keeps its own code (key_permissions, key_invalid, ...): scripts can tell them apart.
  if (problems.length === 1 && keyCode !== "config_invalid" && problems[0]?.startsWith("private_key_file:")) {
    throw new ConfigError(keyCode, `${origin}: ${problems[0]}`)
  }
  throwProblems(origin, problems)
}

function throwProblems(origin: string, problems: string[]): void {
  if (problems.length === 1) throw new ConfigError("config_invalid", `${origin}: ${problems[0]}`)
  if (problems.length > 1)
    throw new ConfigError("config_invalid", `${origin}: ${problems.length} problems`, { details: problems })
}

function sizeProblems(config: AgentConfig): string[] {
  const max = config.batch.max_bytes
  const problems: string[] = []
  for (const s of config.logs) {
    for (const field of ["max_line_bytes", "read_chunk_bytes"] as const) {
      if (s[field] <= max) continue
      problems.push(
        `logs[${s.name}].${field}: ${s[field]} is larger than batch.max_bytes ${max}, so it does not fit one ` +
          `envelope; set it to at most ${max} or raise batch.max_bytes`,
      )
    }
  }
  return problems
}

/** Rules compile; "match" mode has some. */
function ruleProblems(config: AgentConfig): string[] {
  const problems: string[] = []
  for (const s of config.logs) {
    if (s.mode === "match" && s.rules.length === 0) {
      problems.push(`logs[${s.name}].rules: mode "match" needs at least one rule (or set mode = "all")`)
    }
    try {
      if (s.rules.length > 0) compileRules(s.name, s.rules)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      problems.push(`logs[${s.name}].rules: ${error.message.replace(`logs source '${s.name}': `, "")}`)
    }
  }
  return problems
}

function hostProblems(config: AgentConfig): string[] {
  const problems: (string | undefined)[] = []
  try {
    loadKeyFile(config.private_key_file)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    problems.push(error.message)
  }
  problems.push(writableDir("state_dir", config.state_dir))
  problems.push(...urlCheckHostProblems(config.urls, config.agent_id))
  if (config.http.enabled) problems.push(bindable("http", config.http.host, config.http.port))
  for (const [i, url] of config.nats.servers.entries()) problems.push(natsUrl(`nats.servers[${i}]`, url))
  const auth = config.nats.auth as { type: string; path?: string }
  if (auth.path !== undefined) problems.push(readableFile("nats.auth.path", auth.path))
  const tls = config.nats.tls
  if (tls) {
    problems.push(readableFile("nats.tls.ca_file", tls.ca_file))
    if (tls.cert_file) problems.push(readableFile("nats.tls.cert_file", tls.cert_file))
    if (tls.key_file) problems.push(readableFile("nats.tls.key_file", tls.key_file))
  }
  return problems.filter((p): p is string => p !== undefined)
}

/**
 * The hard limit, once the server is known: a chunk (one read, or one capped line with its manifest entry) is
 * never split across envelopes, so one above the server's max_payload would be retried forever and hold its file
 * back (across restarts too). Throws one ConfigError naming every source that cannot fit.
 */
export function checkEnvelopeFit(config: AgentConfig, maxPayload: number): void {
  const limit = Math.max(0, maxPayload - ENVELOPE_OVERHEAD)
  const why = `the envelope limit is ${limit} bytes (the server's max_payload ${maxPayload} minus ${ENVELOPE_OVERHEAD} for headers and manifest)`
  const problems: string[] = []
  if (limit < 4096) problems.push(`nats: the server's max_payload ${maxPayload} leaves no room for envelopes`)
  for (const s of config.logs) problems.push(...misfits(s, limit, why))
  if (problems.length > 0) {
    throw new ConfigError(
      "config_invalid",
      `the NATS server cannot take the envelopes this config needs:\n${list(problems)}`,
    )
  }
}

function misfits(source: LogsSourceConfig, limit: number, why: string): string[] {
  const out: string[] = []
  const at = `logs[${source.name}]`
  if (source.max_line_bytes + LINE_MARGIN > limit) {
    out.push(
      `${at}.max_line_bytes: ${source.max_line_bytes} does not fit one envelope: ${why}, and a line needs ` +
        `max_line_bytes + ${LINE_MARGIN} bytes; set max_line_bytes to at most ${Math.max(0, limit - LINE_MARGIN)}`,
    )
  }
  if (source.read_chunk_bytes > limit) {
    out.push(
      `${at}.read_chunk_bytes: ${source.read_chunk_bytes} does not fit one envelope: ${why}; ` +
        `set read_chunk_bytes to at most ${limit}`,
    )
  }
  return out
}
