import { ConfigError } from "../../shared/errors.ts"
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
  if (problems.length > 0) throw new ConfigError("config_invalid", `invalid ${origin}:\n${list(problems)}`)
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
