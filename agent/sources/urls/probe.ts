import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib"
import type { UrlTimings } from "../../../shared/protocol/urls/result.ts"
import { abortable, addPhase, clock, open, type Phases, type ProbeContext } from "./connection.ts"
import { ClosedEarly, failureOf, ProbeFailure, timeoutFailure } from "./failure.ts"
import { firstHop, type HttpProbeRequest, requestText } from "./http-request.ts"
import { ResponseParser } from "./http-response.ts"
import { MAX_BODY_BYTES } from "./schema.ts"

export type { HttpProbeRequest }

/** What a probe saw. `failure` is null when a final response arrived (its status is judged by the caller). */
export type ProbeResult = {
  timings: UrlTimings
  status: number | null
  /** body bytes of the final response (after de-chunking), all of them, kept or not */
  bytes: number
  redirects: number
  /** the earliest notAfter of the https connections made */
  certExpiresAt: number | null
  /** at most maxBodyBytes of the final body, decompressed when the server sent it compressed anyway */
  body: Uint8Array
  bodyTruncated: boolean
  failure: ProbeFailure | null
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const TIMEOUT = new Error("timeout")
const STOPPED = new DOMException("the probe was stopped", "AbortError")

/**
 * Runs `body` under one deadline of `timeoutMs`: a timeout becomes a `timeout` failure naming the phase, other
 * errors map to reasons (failure.ts); an abort of `signal` rejects (the caller is stopping). Sockets are
 * destroyed at the end whatever happened.
 */
async function probe(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  ca: string | undefined,
  target: string,
  body: (ctx: ProbeContext, result: ProbeResult) => Promise<void>,
): Promise<ProbeResult> {
  let timer: ReturnType<typeof setTimeout> | undefined
  let unregister: (() => void) | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(TIMEOUT), timeoutMs)
    if (signal) unregister = onStop(signal, reject)
  })
  deadline.catch(() => {}) // a deadline that fires after the last step is not an unhandled rejection
  const phases: Phases = {
    dns_ms: null,
    connect_ms: null,
    tls_ms: null,
    first_byte_ms: null,
    transfer_ms: null,
  }
  const ctx: ProbeContext = {
    deadline,
    phase: "dns",
    phases,
    conns: new Set(),
    target,
    ca,
  }
  const result: ProbeResult = {
    timings: { ...phases, total_ms: 0 },
    status: null,
    bytes: 0,
    redirects: 0,
    certExpiresAt: null,
    body: new Uint8Array(0),
    bodyTruncated: false,
    failure: null,
  }
  const start = clock()
  try {
    if (signal?.aborted) throw STOPPED
    await body(ctx, result)
  } catch (error) {
    if (error === STOPPED) throw error
    result.failure =
      error === TIMEOUT ? timeoutFailure(timeoutMs, ctx.phase) : failureOf(error, ctx.phase, ctx.target)
    result.certExpiresAt = earliest(result.certExpiresAt, result.failure.certExpiresAt)
  } finally {
    clearTimeout(timer)
    unregister?.()
    for (const conn of ctx.conns) conn.destroy()
  }
  result.timings = { ...phases, total_ms: clock() - start }
  return result
}

type Stop = (reason: unknown) => void
const stoppers = new WeakMap<AbortSignal, Set<Stop>>()

/**
 * Ends `stop` when `signal` aborts; returns the unregistering function. One listener per signal, shared by every
 * probe under it (a listener per probe was a noticeable part of a check's CPU).
 */
function onStop(signal: AbortSignal, stop: Stop): () => void {
  let live = stoppers.get(signal)
  if (!live) {
    const set = new Set<Stop>()
    signal.addEventListener("abort", () => {
      for (const s of set) s(STOPPED)
    })
    stoppers.set(signal, set)
    live = set
  }
  live.add(stop)
  return () => live.delete(stop)
}

const earliest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b))

/**
 * An HTTP/1.1 check over raw sockets, so that each phase is measured (fetch hides them): one request per
 * connection (`Connection: close`), redirects followed up to `maxRedirects` with phases summed over them.
 * More redirects than allowed is a `status` failure carrying the last 3xx status.
 */
export function probeHttp(req: HttpProbeRequest, signal?: AbortSignal): Promise<ProbeResult> {
  const maxRedirects = req.maxRedirects ?? 5
  const first = firstHop(req)
  let url = first.url
  return probe(req.timeoutMs, signal, req.ca, url.host, async (ctx, result) => {
    let method = first.method
    let body = req.body
    let headers = first.headers
    let request: Buffer | undefined = first.request
    for (;;) {
      request ??= requestText(url, method, headers, body)
      const hop = await exchange(ctx, url, method, request, req.maxBodyBytes ?? MAX_BODY_BYTES)
      request = undefined
      result.certExpiresAt = earliest(result.certExpiresAt, hop.certExpiresAt)
      result.status = hop.status
      result.bytes = hop.bytes
      result.body = hop.body
      result.bodyTruncated = hop.truncated
      const location = hop.headers.get("location")
      if (req.followRedirects === false || !REDIRECTS.has(hop.status) || !location) return
      let next: URL
      try {
        next = new URL(location, url)
      } catch {
        throw new ProbeFailure("error", `${hop.status} to an invalid Location ${JSON.stringify(location)}`)
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw new ProbeFailure("error", `${hop.status} to ${next.protocol} (not http or https)`)
      }
      if (result.redirects >= maxRedirects) {
        result.failure = new ProbeFailure(
          "status",
          `stopped after ${maxRedirects} redirects: ${hop.status} to ${next}`,
        )
        return
      }
      // as browsers and Go do: 303 (and 301/302 after a POST) continue as GET without the body
      if (hop.status === 303 || ((hop.status === 301 || hop.status === 302) && method === "POST")) {
        method = method === "HEAD" ? "HEAD" : "GET"
        body = undefined
      }
      // credentials stay with the host they were written for
      if (next.host !== url.host) headers = headers.filter(([k]) => !/^(authorization|cookie)$/i.test(k))
      headers = headers.map(([k, v]) => (k.toLowerCase() === "host" ? [k, next.host] : [k, v]))
      url = next
      result.redirects++
    }
  })
}

/** A TCP connect check: DNS and connect timed, then closed; nothing is sent. */
export function probeTcp(
  target: { host: string; port: number; timeoutMs: number },
  signal?: AbortSignal,
): Promise<ProbeResult> {
  return probe(target.timeoutMs, signal, undefined, `${target.host}:${target.port}`, async (ctx) => {
    await open(ctx, { host: target.host, port: target.port, tls: false })
  })
}

type Hop = {
  status: number
  headers: Map<string, string>
  bytes: number
  body: Uint8Array
  truncated: boolean
  certExpiresAt: number | null
}

/** One request on its own connection: first_byte_ms from the request written to the first byte back. */
async function exchange(
  ctx: ProbeContext,
  url: URL,
  method: string,
  request: Buffer,
  maxBodyBytes: number,
): Promise<Hop> {
  const endpoint = {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: Number(url.port) || (url.protocol === "https:" ? 443 : 80),
    tls: url.protocol === "https:",
  }
  ctx.target = url.host
  const { conn, certExpiresAt } = await open(ctx, endpoint)
  ctx.phase = "first byte"
  const parser = new ResponseParser(method === "HEAD", maxBodyBytes)
  const sent = clock()
  let firstAt: number | undefined
  const complete = new Promise<void>((resolve, reject) => {
    conn.listen({
      data(chunk) {
        if (firstAt === undefined) {
          firstAt = clock()
          addPhase(ctx, "first_byte_ms", sent)
          ctx.phase = "transfer"
        }
        try {
          parser.feed(chunk)
        } catch (error) {
          reject(error)
        }
        if (parser.done) resolve()
      },
      end() {
        if (parser.end()) return resolve()
        reject(
          new ClosedEarly(`connection closed before ${firstAt === undefined ? "a" : "the full"} response`),
        )
      },
      error: reject,
    })
  })
  conn.write(request)
  await abortable(complete, ctx.deadline)
  if (firstAt !== undefined) addPhase(ctx, "transfer_ms", firstAt)
  conn.destroy()
  const head = parser.head as NonNullable<typeof parser.head>
  const kept = parser.body()
  return {
    status: head.status,
    headers: head.headers,
    bytes: parser.bytes,
    body: kept.truncated ? kept.bytes : decode(kept.bytes, head.headers.get("content-encoding")),
    truncated: kept.truncated,
    certExpiresAt,
  }
}

/** No Accept-Encoding is sent; a server that compresses anyway is decoded for the body conditions. */
function decode(bytes: Uint8Array, encoding: string | undefined): Uint8Array {
  try {
    switch (encoding?.trim().toLowerCase()) {
      case "gzip":
      case "x-gzip":
        return gunzipSync(bytes)
      case "deflate":
        return inflateSync(bytes)
      case "br":
        return brotliDecompressSync(bytes)
      default:
        return bytes
    }
  } catch {
    return bytes
  }
}
