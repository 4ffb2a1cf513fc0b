/** The bytes of an HTTP/1.1 request a check sends: headers by default and by config, built once per check. */
import { VERSION } from "../../../shared/version.ts"

/** One HTTP check to probe. */
export type HttpProbeRequest = {
  url: string
  method: string
  headers?: Record<string, string>
  body?: string
  /** bounds the whole check, every redirect included */
  timeoutMs: number
  followRedirects?: boolean
  maxRedirects?: number
  /** PEM CA certificate(s) trusted instead of the system's */
  ca?: string
  maxBodyBytes?: number
}

export type FirstHop = { url: URL; method: string; headers: [string, string][]; request: Buffer }
const firstHops = new WeakMap<HttpProbeRequest, FirstHop>()

/**
 * The first request's URL, headers and bytes, made once per request object: a check sends the same request
 * every period, and building it each time was a tenth of a check's own CPU. Redirects are built as they come.
 */
export function firstHop(req: HttpProbeRequest): FirstHop {
  let hop = firstHops.get(req)
  if (!hop) {
    const url = new URL(req.url)
    const method = req.method.toUpperCase()
    const headers = requestHeaders(url, req.headers ?? {})
    hop = { url, method, headers, request: requestText(url, method, headers, req.body) }
    firstHops.set(req, hop)
  }
  return hop
}

/** Defaults, then the check's own headers (which win by name); the URL's user:password as Basic auth. */
function requestHeaders(url: URL, own: Record<string, string>): [string, string][] {
  const out = new Map<string, [string, string]>()
  const set = (k: string, v: string) => out.set(k.toLowerCase(), [k, v])
  set("Host", url.host)
  set("User-Agent", `outpost-agent/${VERSION}`)
  set("Accept", "*/*")
  if (url.username || url.password) {
    const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
    set("Authorization", `Basic ${Buffer.from(user).toString("base64")}`)
  }
  for (const [k, v] of Object.entries(own)) set(k, v)
  return [...out.values()]
}

export function requestText(
  url: URL,
  method: string,
  headers: [string, string][],
  body: string | undefined,
): Buffer {
  const payload = body === undefined ? undefined : Buffer.from(body, "utf8")
  const lines = [
    `${method} ${url.pathname || "/"}${url.search} HTTP/1.1`,
    ...headers.map(([k, v]) => `${k}: ${v}`),
  ]
  if (payload !== undefined || ["POST", "PUT", "PATCH"].includes(method)) {
    lines.push(`Content-Length: ${payload?.length ?? 0}`)
  }
  lines.push("Connection: close", "", "")
  const head = Buffer.from(lines.join("\r\n"), "latin1")
  return payload ? Buffer.concat([head, payload]) : head
}
