import { readFileSync } from "node:fs"
import { ConfigError } from "../../../shared/errors.ts"
import type { UrlOutcome, UrlReason, UrlResult, UrlTimings } from "../../../shared/protocol/urls/result.ts"
import { parseTcpTarget } from "./checks.ts"
import {
  type BodyConditions,
  checkBody,
  compileBodyConditions,
  formatRanges,
  hasBodyConditions,
  parseStatusRanges,
  type StatusRange,
  statusMatches,
} from "./conditions.ts"
import { type HttpProbeRequest, type ProbeResult, probeHttp, probeTcp } from "./probe.ts"
import { type UrlCheckConfig, urlCheckName } from "./schema.ts"

/** A check ready to run: its name, config, and what the config compiles to. */
export type UrlCheck = {
  name: string
  config: UrlCheckConfig
  ranges: StatusRange[]
  conditions: BodyConditions
  /** the contents of ca_file */
  ca?: string
  tcp?: { host: string; port: number }
  /** the request an http check sends each run: one object, so the probe builds its bytes once */
  http?: HttpProbeRequest
}

/** A result before the outbox gives it an id. */
export type UrlResultDraft = Omit<UrlResult, "id">

const DAY_MS = 86_400_000

/** Compiles a check (that passed checkUrlChecks) and reads its ca_file; a ConfigError names the field. */
export function resolveUrlCheck(config: UrlCheckConfig): UrlCheck {
  const name = urlCheckName(config)
  const fail = (what: string) => new ConfigError("config_invalid", `urls[${name}].${what}`)
  const { ranges, problems } = parseStatusRanges(config.expect_status)
  const body = compileBodyConditions(config)
  const first = problems[0] ? `expect_status${problems[0]}` : body.problems[0]
  if (first) throw fail(first)
  let ca: string | undefined
  if (config.ca_file !== undefined) {
    try {
      ca = readFileSync(config.ca_file, "utf8")
    } catch (cause) {
      throw new ConfigError(
        "config_invalid",
        `urls[${name}].ca_file: cannot read ${config.ca_file}: ${(cause as Error).message}`,
        { cause },
      )
    }
  }
  const tcp = config.type === "tcp" ? parseTcpTarget(config.url) : undefined
  if (config.type === "tcp" && !tcp) throw fail(`url: '${config.url}' is not host:port`)
  const http = tcp ? undefined : httpRequestOf(config, ca)
  return { name, config, ranges, conditions: body.conditions, ca, tcp, http }
}

const httpRequestOf = (c: UrlCheckConfig, ca: string | undefined): HttpProbeRequest => ({
  url: c.url,
  method: c.method,
  headers: c.headers,
  body: c.body,
  timeoutMs: c.timeout_s * 1000,
  followRedirects: c.follow_redirects,
  maxRedirects: c.max_redirects,
  ca,
})

/** Probes once and judges what came back; rejects only when `signal` aborts (the agent is stopping). */
export async function runUrlCheck(
  check: UrlCheck,
  signal: AbortSignal,
  now: () => number,
): Promise<UrlResultDraft> {
  const c = check.config
  const startedAt = Math.round(now())
  const probe = check.tcp
    ? await probeTcp({ ...check.tcp, timeoutMs: c.timeout_s * 1000 }, signal)
    : await probeHttp(check.http ?? httpRequestOf(c, check.ca), signal)
  return judge(check, probe, startedAt, now())
}

/**
 * The outcome: a probe failure is down with its reason; then (http) a status outside expect_status is down
 * `status`, a failed body condition down `body`; then degraded: a certificate expiring within
 * cert_expiry_warn_days (`cert_expiring`, ahead of `slow`, which the message then mentions too), a total over
 * max_latency_ms (`slow`).
 */
export function judge(check: UrlCheck, probe: ProbeResult, startedAt: number, nowMs: number): UrlResultDraft {
  const c = check.config
  let outcome: UrlOutcome = "up"
  let reason: UrlReason | null = null
  let message: string | null = null
  const down = (r: UrlReason, m: string) => {
    outcome = "down"
    reason = r
    message = m
  }
  if (probe.failure) down(probe.failure.reason, probe.failure.message)
  else if (!check.tcp && probe.status !== null && !statusMatches(probe.status, check.ranges)) {
    down("status", `status ${probe.status} not in ${formatRanges(check.ranges)}`)
  } else if (!check.tcp && hasBodyConditions(check.conditions)) {
    const failed = checkBody(new TextDecoder().decode(probe.body), check.conditions)
    if (failed)
      down("body", probe.bodyTruncated ? `${failed} (in its first ${probe.body.length} bytes)` : failed)
  }
  if (outcome === "up") {
    const notes: [UrlReason, string][] = []
    if (probe.certExpiresAt !== null && probe.certExpiresAt - nowMs < c.cert_expiry_warn_days * DAY_MS) {
      const days = ((probe.certExpiresAt - nowMs) / DAY_MS).toFixed(1)
      const date = new Date(probe.certExpiresAt).toISOString().slice(0, 10)
      notes.push(["cert_expiring", `certificate expires in ${days} days (${date})`])
    }
    const total = probe.timings.total_ms
    if (c.max_latency_ms !== undefined && total > c.max_latency_ms) {
      notes.push(["slow", `took ${Math.round(total)} ms, over max_latency_ms ${c.max_latency_ms}`])
    }
    const [first] = notes
    if (first) {
      outcome = "degraded"
      reason = first[0]
      message = notes.map(([, m]) => m).join("; also ")
    }
  }
  return {
    check: check.name,
    url: c.url,
    started_at: startedAt,
    timings: rounded(probe.timings),
    status: probe.status,
    bytes: probe.bytes,
    redirects: probe.redirects,
    cert_expires_at: probe.certExpiresAt,
    outcome,
    reason,
    message: message === null ? null : (message as string).slice(0, 1024),
  }
}

// to microseconds: phases down and the total up, so the total stays at least the sum of its phases
const down3 = (v: number | null) => (v === null ? null : Math.floor(v * 1000) / 1000)
const rounded = (t: UrlTimings): UrlTimings => ({
  dns_ms: down3(t.dns_ms),
  connect_ms: down3(t.connect_ms),
  tls_ms: down3(t.tls_ms),
  first_byte_ms: down3(t.first_byte_ms),
  transfer_ms: down3(t.transfer_ms),
  total_ms: Math.ceil(t.total_ms * 1000) / 1000,
})
