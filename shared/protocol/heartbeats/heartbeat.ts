import type { EntryBase } from "../entries-body.ts"

/** Most sources one heartbeat describes; more is a bad entry. */
export const MAX_HEARTBEAT_SOURCES = 1000

/** Longest interval a heartbeat may announce (a day), in seconds. */
export const MAX_HEARTBEAT_INTERVAL_S = 86_400

/** Text bounds of a heartbeat (the agent cuts its texts to them before it appends one). */
export const HEARTBEAT_TEXT_LIMITS = { version: 64, source_name: 128, server: 256, error: 1024 } as const

/** One configured source as the heartbeat reports it. */
export type HeartbeatSourceStatus = {
  /** the source's name (a logs source's `name`) */
  name: string
  /** files it reads now */
  files: number
  /** bytes written to those files and not read yet */
  behind_bytes: number
  /** age in seconds of the oldest read not acknowledged by JetStream yet; null or absent when not measured */
  lag_s?: number | null
}

/** The agent's durable outbox (entries of every outbox kind waiting to be published). */
export type HeartbeatOutbox = {
  entries: number
  bytes: number
  /** entries dropped by the outbox bound since the agent started (a counter) */
  dropped_total: number
  /** when the oldest waiting entry was appended, ms since the epoch; null when it is empty */
  oldest_at: number | null
}

/**
 * One heartbeat: an entry of kind `heartbeats`, sent every `interval_s` by each agent (the agent and host are the
 * envelope's). Times are ms since the epoch on the agent's clock.
 */
export type HeartbeatEntry = EntryBase & {
  /** when the agent built this heartbeat */
  sent_at: number
  /** the agent's version */
  version: string
  /** when the agent started */
  started_at: number
  /** seconds since the agent started (its monotonic clock: not moved by a wall clock step) */
  uptime_s: number
  /** seconds between two heartbeats, so that the collector can judge silence relative to it */
  interval_s: number
  sources: HeartbeatSourceStatus[]
  /** URL checks this agent runs; null when the agent has no `urls` kind */
  urls: { checks: number } | null
  /** null when the agent has no outbox open */
  outbox: HeartbeatOutbox | null
  /** the NATS connection: connected now, and to which server (null when not known) */
  nats: { connected: boolean; server: string | null }
  /** the last envelope JetStream acknowledged, any kind; null before the first */
  last_publish_at: number | null
  /** the last failed publish, null once a publish succeeded after it */
  last_publish_error: string | null
  /** where this agent's preview page is opened (`[preview] url`), for links in alerts; absent or null: none */
  preview_url?: string | null
}

const MAX_ERROR_CHARS = HEARTBEAT_TEXT_LIMITS.error
const MAX_PREVIEW_URL_CHARS = 512
const MAX_MS = 253402300799999

const isMs = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= MAX_MS
const isNullableMs = (v: unknown) => v === null || isMs(v)
const isCount = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0
const isSeconds = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= MAX_MS / 1000
const isText = (v: unknown, max: number) => typeof v === "string" && v.length > 0 && v.length <= max
const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v)

/** Checks one decoded `heartbeats` entry; returns the first problem (naming the field) or undefined. */
export function checkHeartbeat(e: Record<string, unknown>): string | undefined {
  if (!isMs(e.sent_at)) return "sent_at must be ms since the epoch"
  if (!isText(e.version, HEARTBEAT_TEXT_LIMITS.version)) return "version must be a text of 1-64 characters"
  if (!isMs(e.started_at)) return "started_at must be ms since the epoch"
  if (!isSeconds(e.uptime_s)) return "uptime_s must be a number of seconds, 0 or more"
  const interval = e.interval_s
  if (!(typeof interval === "number" && interval > 0 && interval <= MAX_HEARTBEAT_INTERVAL_S))
    return `interval_s must be a number of seconds above 0, at most ${MAX_HEARTBEAT_INTERVAL_S}`
  const problem = checkSources(e.sources) ?? checkUrls(e.urls) ?? checkOutbox(e.outbox) ?? checkNats(e.nats)
  if (problem) return problem
  if (!isNullableMs(e.last_publish_at)) return "last_publish_at must be null or ms since the epoch"
  const error = e.last_publish_error
  if (error !== null && !(typeof error === "string" && error.length <= MAX_ERROR_CHARS))
    return `last_publish_error must be null or a text of at most ${MAX_ERROR_CHARS} characters`
  const preview = e.preview_url
  if (
    preview !== undefined &&
    preview !== null &&
    !(isText(preview, MAX_PREVIEW_URL_CHARS) && /^https?:\/\//.test(preview as string))
  )
    return `preview_url must be absent, null or an http(s) URL of at most ${MAX_PREVIEW_URL_CHARS} characters`
  return undefined
}

function checkSources(sources: unknown): string | undefined {
  if (!Array.isArray(sources)) return "sources must be an array"
  if (sources.length > MAX_HEARTBEAT_SOURCES) return `sources must hold at most ${MAX_HEARTBEAT_SOURCES}`
  for (let i = 0; i < sources.length; i++) {
    const s: unknown = sources[i]
    if (!isObject(s)) return `sources[${i}] must be an object`
    if (!isText(s.name, HEARTBEAT_TEXT_LIMITS.source_name))
      return `sources[${i}].name must be a text of 1-128 characters`
    if (!isCount(s.files)) return `sources[${i}].files must be a count`
    if (!isCount(s.behind_bytes)) return `sources[${i}].behind_bytes must be a count`
    if (s.lag_s !== undefined && s.lag_s !== null && !isSeconds(s.lag_s))
      return `sources[${i}].lag_s must be absent, null or a number of seconds, 0 or more`
  }
  return undefined
}

function checkUrls(urls: unknown): string | undefined {
  if (urls === null) return undefined
  if (!isObject(urls)) return "urls must be null or an object"
  if (!isCount(urls.checks)) return "urls.checks must be a count"
  return undefined
}

function checkOutbox(outbox: unknown): string | undefined {
  if (outbox === null) return undefined
  if (!isObject(outbox)) return "outbox must be null or an object"
  for (const k of ["entries", "bytes", "dropped_total"]) {
    if (!isCount(outbox[k])) return `outbox.${k} must be a count`
  }
  if (!isNullableMs(outbox.oldest_at)) return "outbox.oldest_at must be null or ms since the epoch"
  return undefined
}

function checkNats(nats: unknown): string | undefined {
  if (!isObject(nats)) return "nats must be an object"
  if (typeof nats.connected !== "boolean") return "nats.connected must be true or false"
  if (nats.server !== null && !isText(nats.server, HEARTBEAT_TEXT_LIMITS.server))
    return "nats.server must be null or a text of 1-256 characters"
  return undefined
}
