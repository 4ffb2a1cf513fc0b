import { ConfigError } from "../../shared/errors.ts"
import { resolveHttpAccess } from "../http/access-config.ts"
import { loadEnrollment } from "../ingest/enrollment.ts"
import type { CollectorConfig } from "./schema.ts"

/**
 * Cross-field checks of a config that passed its schema, for `run` (before anything starts) and `check-config`
 * alike: sizes against each other, the HTTP access rules (token, token file, bind host) and `enrolled_keys`
 * readable and valid. Throws one ConfigError listing every problem.
 */
export function checkCollectorConfig(config: CollectorConfig, origin = "config"): void {
  const problems: string[] = []
  const c = config.consumer
  if (c.pull_max_bytes < config.max_envelope_bytes + 64 * 1024) {
    problems.push(
      `consumer.pull_max_bytes: ${c.pull_max_bytes} must exceed max_envelope_bytes (${config.max_envelope_bytes}) by at least 65536, or large envelopes could never be pulled`,
    )
  }
  if (c.batch_max_messages > c.max_ack_pending) {
    problems.push(
      `consumer.batch_max_messages: ${c.batch_max_messages} must not exceed consumer.max_ack_pending (${c.max_ack_pending}): a batch can never hold more messages than are delivered unacknowledged`,
    )
  }
  for (const check of [
    () => resolveHttpAccess(config.http, () => {}),
    () => loadEnrollment(config.enrolled_keys),
  ]) {
    try {
      check()
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      problems.push(error.message)
    }
  }
  if (problems.length > 0) {
    throw new ConfigError("config_invalid", `invalid ${origin}:\n${problems.map((p) => `  ${p}`).join("\n")}`)
  }
}
