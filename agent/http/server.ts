import { OutpostError } from "../../shared/errors.ts"
import { type AgentHttpView, createAgentHttpHandler, isLoopbackAddress } from "./handler.ts"

/** The agent's listening HTTP server. */
export type AgentHttpServer = {
  /** e.g. http://127.0.0.1:4406 */
  url: string
  port: number
  stop(): Promise<void>
}

/**
 * Serves the agent's one HTTP server on `host:port` (port 0: any free one): /health, /metrics, /status and the
 * files page at /, and /preview when `[preview]` names the collector's key (default 127.0.0.1:4406). An address
 * that cannot be had throws an OutpostError naming it: code `http_address_in_use` or `http_listen_failed`.
 */
export function serveAgentHttp(
  view: AgentHttpView,
  options: { host: string; port: number; preview?: (request: Request) => Response | null },
): AgentHttpServer {
  const where = `${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port}`
  const handle = createAgentHttpHandler(view, {
    loopbackOnly: isLoopbackAddress(options.host),
    preview: options.preview,
  })
  let server: ReturnType<typeof Bun.serve>
  try {
    server = Bun.serve({
      hostname: options.host,
      port: options.port,
      fetch: handle,
      error: (error) => new Response(`internal error: ${error.message}\n`, { status: 500 }),
    })
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    if (code === "EADDRINUSE") {
      throw new OutpostError(
        "http_address_in_use",
        `cannot serve the agent's HTTP (/health, /metrics) on ${where}: the address is in use (another agent?); set [http] port, or [http] enabled = false`,
        { cause },
      )
    }
    throw new OutpostError(
      "http_listen_failed",
      `cannot serve the agent's HTTP (/health, /metrics) on ${where}: ${(cause as Error).message}; check [http] host and port`,
      { cause },
    )
  }
  const port = server.port ?? options.port
  const host = options.host.includes(":") ? `[${options.host}]` : options.host
  return {
    url: `http://${host}:${port}`,
    port,
    async stop() {
      await server.stop(true)
    },
  }
}
