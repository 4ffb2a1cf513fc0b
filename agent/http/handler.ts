import { renderFilesPage } from "./page.ts"
import { statusBody } from "./status-body.ts"
import type { AgentHttpView } from "./view.ts"

export type { AgentHttpView } from "./view.ts"

/**
 * The agent's HTTP routes: /health (200 {"status":"ok"}, or 503 with the problems), /metrics (Prometheus text),
 * /status (JSON) and / (a page listing each source's files). With `loopbackOnly` (the server listens on
 * loopback), every route but /health wants a loopback name in the Host header: a web page the operator opens
 * cannot read the files list through DNS rebinding.
 */
export function createAgentHttpHandler(
  view: AgentHttpView,
  options: { loopbackOnly: boolean; preview?: (request: Request) => Response | null },
) {
  return (request: Request): Response => {
    // before the Host check: a phone opens the link by this host's name, and the signed token is the permission
    const preview = options.preview?.(request)
    if (preview) return preview
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
