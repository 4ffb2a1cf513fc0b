import { OutpostError } from "../../shared/errors.ts"
import type { QueryPool } from "../sinks/duckdb/query-pool.ts"
import type { HttpAccess } from "./access.ts"

/** The listening HTTP server; stopping it also interrupts and closes the queries. */
export type HttpServer = {
  port: number
  stop(closeActiveConnections?: boolean): Promise<void>
}

/** Why a listen failed, in words an operator acts on. */
const LISTEN_ADVICE: Record<string, string> = {
  EADDRINUSE: "the address is already in use (another collector or program listens there; change http.port)",
  EADDRNOTAVAIL: "no interface of this host has that address (check http.host)",
  EACCES: "permission denied (ports below 1024 need privileges)",
}

/** `host:port`, with IPv6 addresses in brackets. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`
}

/**
 * Serves `app` on `host:port` (port 0: any free one) and records the port the Host check expects. A port it
 * cannot listen on throws an `OutpostError` (code `http_listen`) naming host:port and the reason.
 */
export function serveHttp(
  app: { handle(request: Request): Response | Promise<Response> },
  options: { host: string; port: number; access: HttpAccess; queries?: () => QueryPool | undefined },
): HttpServer {
  let server: ReturnType<typeof Bun.serve>
  try {
    server = Bun.serve({
      hostname: options.host,
      port: options.port,
      fetch: (request) => app.handle(request),
    })
  } catch (cause) {
    const code = (cause as { code?: unknown }).code
    const reason = (typeof code === "string" && LISTEN_ADVICE[code]) || (cause as Error).message
    throw new OutpostError(
      "http_listen",
      `cannot listen for HTTP on ${hostPort(options.host, options.port)}: ${reason}`,
      { cause },
    )
  }
  const port = server.port ?? options.port
  // Set before any request can be handled: they run on this thread after the current task.
  options.access.port = port
  return {
    port,
    async stop(closeActiveConnections = false) {
      await options.queries?.()?.close()
      await server.stop(closeActiveConnections)
    },
  }
}
