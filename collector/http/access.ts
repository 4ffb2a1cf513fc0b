import { createHash, timingSafeEqual } from "node:crypto"

/** Who may call the data endpoints; built from `[http]` by `resolveHttpAccess`. */
export type HttpAccess = {
  /** bearer token the data endpoints require; null: none (loopback only) */
  token: string | null
  /** the configured bind address (`http.host`), accepted as a Host name with the listening port */
  bindHost: string
  /** `http.allowed_hosts`: `name` (any port) or `name:port` */
  allowedHosts: readonly string[]
  /** the port the server listens on; `serveHttp` sets it once bound (`http.port` may be 0) */
  port: number
}

type HostPort = { name: string; port: number | null }

const LOOPBACK_NAMES = new Set(["localhost", "::1"])

/** True for names and addresses that only reach this machine: localhost, 127.0.0.0/8, ::1. */
export function isLoopback(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, "$1")
  return LOOPBACK_NAMES.has(name) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
}

/** `name`, `name:port`, `[v6]` or `[v6]:port`, lower-cased; null when it is none of these. */
function parseHostPort(value: string): HostPort | null {
  const text = value.trim().toLowerCase()
  const match = /^(?:\[([0-9a-f:.]+)\]|([^\s:/@[\]]+))(?::(\d{1,5}))?$/.exec(text)
  if (!match) return null
  const name = (match[1] ?? match[2] ?? "").replace(/\.$/, "")
  const port = match[3] === undefined ? null : Number(match[3])
  if (name === "" || (port !== null && port > 65535)) return null
  return { name, port }
}

/**
 * True when a request addressed to `host` (a Host header value, or an origin's host) may be served: loopback
 * names and the configured bind address with the listening port, or an `http.allowed_hosts` entry. Any
 * other name is what a DNS-rebinding page would send, so it is refused even though the address is ours.
 */
export function hostAllowed(access: HttpAccess, host: string, defaultPort = 80): boolean {
  const target = parseHostPort(host)
  if (!target) return false
  const port = target.port ?? defaultPort
  // http.host is an address or name without a port; an IPv6 address may come with or without brackets.
  const bind = access.bindHost.toLowerCase().replace(/^\[(.*)\]$/, "$1")
  if (port === access.port && (isLoopback(target.name) || bind === target.name)) {
    return true
  }
  return access.allowedHosts.some((entry) => {
    const allowed = parseHostPort(entry)
    return (
      allowed !== null && allowed.name === target.name && (allowed.port === null || allowed.port === port)
    )
  })
}

/** True when the browser origin (`Origin` header) is one of the allowed hosts. */
export function originAllowed(access: HttpAccess, origin: string): boolean {
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false // "null" (sandboxed pages, file:) and garbage
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false
  return hostAllowed(access, url.host, url.protocol === "https:" ? 443 : 80)
}

const digest = (text: string) => createHash("sha256").update(text).digest()

/** True when the request carries `Authorization: Bearer <token>`; compared in constant time. */
export function tokenMatches(expected: string, authorization: string | null): boolean {
  const presented = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "")?.[1] ?? ""
  // Digests have equal lengths whatever was sent, so the comparison time says nothing about the token.
  return timingSafeEqual(digest(presented), digest(expected)) && presented.length > 0
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  })

/** Paths anyone may call: they return no data (load balancers probe them with any Host). */
const OPEN_PATHS = new Set(["/health"])

/**
 * Checks a request before routing: Host (403), Origin (403) and bearer token (401) on every path but
 * /health. Returns the refusal, or null to let the request through.
 */
export function checkAccess(access: HttpAccess, request: Request): Response | null {
  const url = new URL(request.url)
  if (OPEN_PATHS.has(url.pathname)) return null
  const host = request.headers.get("host") ?? url.host
  if (!hostAllowed(access, host)) return json(403, { error: "host not allowed" })
  const origin = request.headers.get("origin")
  if (origin !== null && !originAllowed(access, origin)) return json(403, { error: "origin not allowed" })
  if (access.token !== null && !tokenMatches(access.token, request.headers.get("authorization"))) {
    return json(
      401,
      { error: "missing or wrong bearer token: send Authorization: Bearer <http.token>" },
      { "www-authenticate": 'Bearer realm="outpost-collector"' },
    )
  }
  return null
}
