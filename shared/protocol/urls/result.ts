import type { EntryBase } from "../entries-body.ts"

/** How a URL check ended. */
export const URL_OUTCOMES = ["up", "degraded", "down"] as const
export type UrlOutcome = (typeof URL_OUTCOMES)[number]

/** Why it was not `up` (null when it was). */
export const URL_REASONS = [
  "timeout",
  "dns",
  "refused",
  "reset",
  "tls",
  "status",
  "body",
  "slow",
  "cert_expiring",
  "error",
] as const
export type UrlReason = (typeof URL_REASONS)[number]

/**
 * Phase timings in milliseconds, summed over redirects as blackbox_exporter does: resolve (DNS), connect (TCP),
 * tls (handshake), processing (request sent to first byte), transfer (first byte to end), total. A phase that
 * could not be measured (or did not happen: no TLS on http://) is null, never guessed.
 */
export type UrlTimings = {
  dns_ms: number | null
  connect_ms: number | null
  tls_ms: number | null
  first_byte_ms: number | null
  transfer_ms: number | null
  total_ms: number
}

/** One URL check result: an entry of kind `urls` (the agent is the envelope's). */
export type UrlResult = EntryBase & {
  /** the check's name (unique per agent config) */
  check: string
  url: string
  /** when the check started, ms since the epoch */
  started_at: number
  timings: UrlTimings
  /** final HTTP status, null when no response came */
  status: number | null
  /** body bytes received */
  bytes: number
  redirects: number
  /** the server certificate's notAfter, ms since the epoch (https only) */
  cert_expires_at: number | null
  outcome: UrlOutcome
  reason: UrlReason | null
  /** a short human text for reason (error message, "status 500 not in 200-399", ...) */
  message: string | null
}

const isMs = (v: unknown) =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= 253402300799999
const isNullableMs = (v: unknown) =>
  v === null || (typeof v === "number" && Number.isFinite(v) && v >= 0 && v < 1e12)
const isShortText = (v: unknown, max: number) => typeof v === "string" && v.length > 0 && v.length <= max

/** Checks one decoded `urls` entry; returns the first problem or undefined. */
export function checkUrlResult(e: Record<string, unknown>): string | undefined {
  if (!isShortText(e.check, 128)) return "check must be a name of 1-128 characters"
  if (!isShortText(e.url, 2048)) return "url must be a text of 1-2048 characters"
  if (!isMs(e.started_at)) return "started_at must be ms since the epoch"
  const t = e.timings as Record<string, unknown> | null
  if (t === null || typeof t !== "object") return "timings must be an object"
  for (const k of ["dns_ms", "connect_ms", "tls_ms", "first_byte_ms", "transfer_ms"]) {
    if (!isNullableMs(t[k])) return `timings.${k} must be null or a duration in ms`
  }
  if (!isNullableMs(t.total_ms) || t.total_ms === null) return "timings.total_ms must be a duration in ms"
  if (
    e.status !== null &&
    !(Number.isInteger(e.status) && (e.status as number) >= 100 && (e.status as number) <= 999)
  )
    return "status must be null or 100-999"
  if (!(Number.isSafeInteger(e.bytes) && (e.bytes as number) >= 0)) return "bytes must be a count"
  if (!(Number.isInteger(e.redirects) && (e.redirects as number) >= 0 && (e.redirects as number) <= 100))
    return "redirects must be 0-100"
  if (e.cert_expires_at !== null && !isMs(e.cert_expires_at)) return "cert_expires_at must be null or ms"
  if (!(URL_OUTCOMES as readonly unknown[]).includes(e.outcome))
    return `outcome must be one of ${URL_OUTCOMES.join(", ")}`
  if (e.reason !== null && !(URL_REASONS as readonly unknown[]).includes(e.reason))
    return `reason must be null or one of ${URL_REASONS.join(", ")}`
  if ((e.outcome === "up") !== (e.reason === null)) return "reason is null exactly when outcome is up"
  if (e.message !== null && !(typeof e.message === "string" && e.message.length <= 1024))
    return "message must be null or at most 1024 characters"
  return undefined
}
