import type { QueryPool } from "../sinks/duckdb/query-pool.ts"
import type { HttpAccess } from "./access.ts"

/** The listening HTTP server; stopping it also interrupts and closes the queries. */
export type HttpServer = {
  port: number
  stop(closeActiveConnections?: boolean): Promise<void>
}

/** Serves `app` on `host:port` (port 0: any free one) and records the port the Host check expects. */
export function serveHttp(
  app: { handle(request: Request): Response | Promise<Response> },
  options: { host: string; port: number; access: HttpAccess; queries: QueryPool },
): HttpServer {
  const server = Bun.serve({
    hostname: options.host,
    port: options.port,
    fetch: (request) => app.handle(request),
  })
  const port = server.port ?? options.port
  // Set before any request can be handled: they run on this thread after the current task.
  options.access.port = port
  return {
    port,
    async stop(closeActiveConnections = false) {
      await options.queries.close()
      await server.stop(closeActiveConnections)
    },
  }
}
