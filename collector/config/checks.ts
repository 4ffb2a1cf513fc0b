import { isAbsolute, join } from "node:path"
import { bindable, readableFile, writableDir, writableFile } from "../../shared/config/preflight.ts"
import { ConfigError } from "../../shared/errors.ts"
import { alertsConfigProblems } from "../alerts/config.ts"
import { targetNameProblems } from "../alerts/targets/index.ts"
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
  problems.push(...alertsConfigProblems(config.alerts), ...targetNameProblems(config.alerts.targets))
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
  throwProblems(origin, problems)
}

/** The DuckDB file's path: `duckdb_file` as given when absolute, else inside `data_dir`. */
export function duckdbPathOf(config: CollectorConfig): string {
  return isAbsolute(config.duckdb_file) ? config.duckdb_file : join(config.data_dir, config.duckdb_file)
}

/**
 * What `run` needs of this host, checked by `check-config` too: data_dir and the DuckDB file writable, the HTTP
 * port (and the local NATS port) free to listen on, TLS files readable.
 */
export function checkCollectorHost(config: CollectorConfig, origin = "config"): void {
  const problems: (string | undefined)[] = [
    writableDir("data_dir", config.data_dir),
    writableFile("duckdb_file", duckdbPathOf(config)),
    bindable("http", config.http.host, config.http.port),
  ]
  const n = config.nats
  if (n.url === undefined) problems.push(bindable("nats.local_port", n.local_host, n.local_port))
  if (n.local_tls) {
    problems.push(readableFile("nats.local_tls.cert_file", n.local_tls.cert_file))
    problems.push(readableFile("nats.local_tls.key_file", n.local_tls.key_file))
    if (n.local_tls.ca_file) problems.push(readableFile("nats.local_tls.ca_file", n.local_tls.ca_file))
  }
  if (n.tls) problems.push(readableFile("nats.tls.ca_file", n.tls.ca_file))
  const auth = n.auth as { type: string; path?: string }
  if (auth.path !== undefined) problems.push(readableFile("nats.auth.path", auth.path))
  throwProblems(
    origin,
    problems.filter((p): p is string => p !== undefined),
  )
}

function throwProblems(origin: string, problems: string[]): void {
  if (problems.length === 1) throw new ConfigError("config_invalid", `${origin}: ${problems[0]}`)
  if (problems.length > 1)
    throw new ConfigError("config_invalid", `${origin}: ${problems.length} problems`, { details: problems })
}
