import type { SendOutcome } from "./types.ts"

/** How a target posts. */
export type PostOptions = {
  headers?: Record<string, string>
  /** an http:// or https:// proxy; without it Bun's fetch follows HTTP_PROXY / HTTPS_PROXY / NO_PROXY */
  proxy?: string
  /** for this request alone, reading the answer included */
  timeoutMs: number
  /** the caller's: shutdown */
  signal?: AbortSignal
}

/** An answer with its body read, or the `retry` outcome of a request that got none. */
export type PostResult =
  | { ok: true; status: number; headers: Headers; body: string }
  | { ok: false; outcome: SendOutcome }

/** Most characters of an answer's body quoted in an error. */
const QUOTED_BODY_CHARS = 300

/**
 * POSTs `body` as JSON and reads the answer within `timeoutMs`. Redirects are not followed (a POST that is
 * redirected arrives as a GET, or not at all): the caller sees the 3xx. No failure message names the URL, which
 * holds the target's credentials (a DingTalk token, a Slack webhook path).
 */
export async function postJson(url: string, body: unknown, options: PostOptions): Promise<PostResult> {
  const timeout = AbortSignal.timeout(options.timeoutMs)
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8", ...options.headers },
      body: JSON.stringify(body),
      redirect: "manual",
      signal,
      // an explicitly configured proxy is meant for this target, whatever NO_PROXY says
      ...(options.proxy === undefined ? {} : { proxy: { url: options.proxy, respectNoProxy: false } }),
    })
    const text = await response.text()
    return { ok: true, status: response.status, headers: response.headers, body: text }
  } catch (cause) {
    if (timeout.aborted) return retry(`timed out after ${options.timeoutMs / 1000} s`)
    if (options.signal?.aborted) return retry("aborted")
    const error = redact(networkError(cause), url)
    // the failing hop may be the proxy: name it (its host only: its URL may hold credentials)
    const proxy =
      options.proxy !== undefined && URL.canParse(options.proxy) ? new URL(options.proxy) : undefined
    return retry(proxy ? `${error} (via proxy ${proxy.host})` : error)
  }
}

const retry = (error: string): PostResult => ({ ok: false, outcome: { type: "retry", error } })

function networkError(cause: unknown): string {
  const code = (cause as { code?: unknown } | null | undefined)?.code
  if (code === "ConnectionRefused" || code === "ECONNREFUSED") return "connection refused"
  const message = cause instanceof Error ? cause.message : String(cause)
  return typeof code === "string" && code !== "" ? `${code}: ${message}` : message
}

/** `message` without `url` or its query string in it (in case an error quotes them). */
function redact(message: string, url: string): string {
  const parsed = URL.canParse(url) ? new URL(url) : undefined
  let out = message
  for (const secret of [url, parsed?.search.slice(1) ?? "", parsed?.pathname ?? ""]) {
    if (secret.length > 1) out = out.split(secret).join("<url>")
  }
  return out
}

/** An answer's body as an error quotes it: one line, cut short. */
export function quoteBody(body: string): string {
  const line = body.replace(/\s+/g, " ").trim()
  if (line === "") return "(empty body)"
  return line.length > QUOTED_BODY_CHARS ? `${line.slice(0, QUOTED_BODY_CHARS)}…` : line
}

/**
 * `Retry-After` in ms from `now`: delay-seconds or an HTTP date; undefined when absent or unreadable. Capped at
 * `maxMs`, so that a wrong header cannot silence a target for days.
 */
export function retryAfterMs(header: string | null, now: number, maxMs = 3_600_000): number | undefined {
  if (header === null || header.trim() === "") return undefined
  const text = header.trim()
  let ms: number
  if (/^\d+$/.test(text)) ms = Number(text) * 1000
  else {
    const at = Date.parse(text)
    if (Number.isNaN(at)) return undefined
    ms = at - now
  }
  return Math.min(Math.max(0, ms), maxMs)
}

/**
 * The outcome of an HTTP status that is not a success, the same for every target: 3xx permanent (set the final
 * URL), 408 and 429 and 5xx retry (after Retry-After when given), every other 4xx permanent.
 */
export function statusOutcome(result: Extract<PostResult, { ok: true }>, now: number): SendOutcome {
  const { status } = result
  const what = `HTTP ${status}: ${quoteBody(result.body)}`
  if (status >= 300 && status < 400) {
    return { type: "permanent", error: `HTTP ${status} redirect: set url to the address it points to` }
  }
  if (status === 408 || status === 429 || status >= 500) {
    const afterMs = retryAfterMs(result.headers.get("retry-after"), now)
    return afterMs === undefined ? { type: "retry", error: what } : { type: "retry", error: what, afterMs }
  }
  if (status >= 400) return { type: "permanent", error: what }
  return { type: "retry", error: `unexpected HTTP ${status}` }
}
