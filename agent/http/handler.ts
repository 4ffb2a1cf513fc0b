import type { UrlsKindStatus } from "../kinds/urls.ts"
import type { SourceStatus } from "../sources/source.ts"
import { renderFilesPage } from "./page.ts"
import type { AgentStatus } from "./status.ts"

/** What the agent's HTTP server shows; read at every request. */
export type AgentHttpView = {
  agent: string
  version: string
  startedAt: number
  status: AgentStatus
  /** each configured source, with what it reads now */
  sources(): { name: string; read: SourceStatus }[]
  /** the URL checks and the outbox; undefined when this agent runs no check */
  urls?(): UrlsKindStatus | undefined
  /** Prometheus text */
  metrics(): string
}

/** The JSON of /status, which the page at / shows as tables. */
export type AgentStatusBody = ReturnType<typeof statusBody>

/**
 * The agent's HTTP routes: /health (200 {"status":"ok"}, or 503 with the problems), /metrics (Prometheus text),
 * /status (JSON) and / (a page listing each source's files). With `loopbackOnly` (the server listens on
 * loopback), every route but /health wants a loopback name in the Host header: a web page the operator opens
 * cannot read the files list through DNS rebinding.
 */
export function createAgentHttpHandler(view: AgentHttpView, options: { loopbackOnly: boolean }) {
  return (request: Request): Response => {
    const url = new URL(request.url)
    if (request.method !== "GET" && request.method !== "HEAD") {
      return json({ error: "method not allowed" }, 405, { allow: "GET, HEAD" })
    }
    if (url.pathname === "/health") {
      const problems = view.status.problems()
      return problems.length === 0 ? json({ status: "ok" }, 200) : json({ status: "degraded", problems }, 503)
    }
    if (options.loopbackOnly && !isLoopbackHost(request.headers.get("host") ?? url.host)) {
      return json({ error: "this server answers to localhost, 127.0.0.1 or [::1] only" }, 403)
    }
    switch (url.pathname) {
      case "/metrics":
        return new Response(view.metrics(), { headers: { "content-type": "text/plain; version=0.0.4" } })
      case "/status":
        return json(statusBody(view), 200)
      case "/":
        return new Response(renderFilesPage(statusBody(view)), {
          headers: { "content-type": "text/html; charset=utf-8" },
        })
      default:
        return json({ error: "not found", routes: ["/", "/health", "/metrics", "/status"] }, 404)
    }
  }
}

function statusBody(view: AgentHttpView) {
  const nats = view.status.nats()
  const lastPublish = view.status.lastPublishAt()
  return {
    agent: view.agent,
    version: view.version,
    uptime_s: Math.round((Date.now() - view.startedAt) / 1000),
    problems: view.status.problems(),
    nats: {
      connected: nats.connected,
      since: new Date(nats.since).toISOString(),
      server: nats.server ?? null,
      reason: nats.connected ? null : (nats.reason ?? null),
      attempts: nats.connected ? 0 : (nats.attempts ?? 0),
    },
    last_publish_at: lastPublish === undefined ? null : new Date(lastPublish).toISOString(),
    sources: view.sources().map(({ name, read }) => ({
      name,
      ...view.status.source(name),
      patterns: read.patterns,
      files: read.files.map((f) => ({
        path: f.path,
        gen: f.gen,
        state: f.state,
        position: f.position,
        acked: f.acked,
        size: f.size,
        behind: f.behind,
      })),
    })),
    urls: urlsBody(view.urls?.()),
  }
}

/** Checks with ISO times; the outbox with what waits, what the bound dropped and what is still to report. */
function urlsBody(u: UrlsKindStatus | undefined) {
  if (!u) return null
  const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(ms).toISOString())
  return {
    checks: u.checks.map((c) => ({ ...c, last_run_at: iso(c.last_run_at), next_run_at: iso(c.next_run_at) })),
    other_agents: u.other_agents,
    outbox: {
      entries: u.outbox.entries,
      bytes: u.outbox.bytes,
      oldest_at: iso(u.outbox.oldestAt),
      dropped_since_start: u.outbox.droppedSinceOpen,
      dropped_unreported: u.outbox.dropped.urls ?? 0,
    },
    published: u.transport
      ? {
          envelopes: u.transport.envelopes,
          entries: u.transport.entries,
          dropped_reported: u.transport.dropped_reported,
        }
      : null,
  }
}

const json = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

/** localhost, *.localhost, 127.x.y.z or [::1], with or without a port. */
export function isLoopbackHost(host: string): boolean {
  const name = (
    host.startsWith("[") ? host.slice(1, host.indexOf("]")) : (host.split(":")[0] ?? "")
  ).toLowerCase()
  return (
    name === "localhost" || name.endsWith(".localhost") || name === "::1" || /^127(\.\d{1,3}){3}$/.test(name)
  )
}

/** Whether an address to listen on is a loopback one (then the Host check applies). */
export function isLoopbackAddress(host: string): boolean {
  return isLoopbackHost(host.includes(":") && !host.startsWith("[") ? `[${host}]` : host)
}
