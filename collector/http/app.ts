import { Elysia } from "elysia"
import type { PresenceRow } from "../alerts/presence-status.ts"
import type { AlertsStatus } from "../alerts/start.ts"
import { type CollectorMetrics, httpRouteLabel, statusClass } from "../metrics/collector-metrics.ts"
import type { QueryPool } from "../sinks/duckdb/query-pool.ts"
import { QueryError } from "../sinks/duckdb/query-pool-error.ts"
import { checkAccess, type HttpAccess } from "./access.ts"
import { createSqlRoute, queryErrorResponse } from "./sql-route.ts"
import { createStatsUrlsRoute } from "./stats-urls-route.ts"

export type HttpDeps = {
  /** runs /sql and the /status queries apart from the writer; undefined until DuckDB is open (503 then) */
  queries(): QueryPool | undefined
  /** token, Host and Origin rules (see resolveHttpAccess) */
  access: HttpAccess
  metrics: CollectorMetrics
  /** why the collector is not healthy (starting, NATS, ingest, storage, stream); empty when it is */
  problems(): string[]
  /** what waits in the quarantine, by reason and agent (null while NATS cannot tell) */
  quarantine(): Promise<{
    messages: number
    bytes: number
    groups: { reason: string; agent: string; messages: number }[]
  } | null>
  /** consumer lag, refreshed on call (null while NATS cannot tell) */
  consumerLag(): Promise<{ pending: number; ackPending: number } | null>
  startedAt: number
  /** agents by their heartbeats: online or offline now, last seen */
  presence?(): PresenceRow[]
  /** chat targets: stopped, throttled, last error, deliveries by state (null without alerting) */
  alerts?(): Promise<AlertsStatus | null>
}

/** What serves requests: `handle` answers one (Bun.serve, or a test with `new Request(...)`). */
export type HttpApp = { handle(request: Request): Promise<Response> }

/**
 * HTTP surface: /health (open), and /status, /metrics and read-only /sql behind the Host, Origin and token
 * checks. Errors are JSON with a message. Every request is timed by route and status class, refusals included.
 */
export function createHttpApp(deps: HttpDeps): HttpApp {
  const notReady = () =>
    new Response(JSON.stringify({ error: "the collector is starting", problems: deps.problems() }), {
      status: 503,
      headers: { "content-type": "application/json", "retry-after": "1" },
    })
  const app = new Elysia()
    .onRequest(({ request }) => checkAccess(deps.access, request) ?? undefined)
    .onError(({ code, error, set }) => {
      if (error instanceof QueryError) return queryErrorResponse(error)
      if (code === "VALIDATION") {
        set.status = 400
        return { error: "invalid request", detail: error.message }
      }
      if (code === "NOT_FOUND") {
        set.status = 404
        return { error: "not found" }
      }
      set.status = 500
      return { error: error instanceof Error ? error.message : String(error) }
    })
    .get("/health", ({ set }) => {
      const problems = deps.problems()
      set.status = problems.length === 0 ? 200 : 503
      return problems.length === 0 ? { status: "ok" } : { status: "degraded", problems }
    })
    .get("/status", async () => {
      const queries = deps.queries()
      if (!queries) return notReady()
      const agents = await queries.rows(`
        SELECT agent, any_value(host) AS host, max(received_at)::VARCHAR AS last_envelope_at,
               count(*) AS envelopes, sum(entries) AS records
        FROM envelopes GROUP BY agent ORDER BY agent`)
      const lag = await deps.consumerLag()
      return {
        uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
        problems: deps.problems(),
        agents,
        consumer: lag,
        quarantine: await deps.quarantine(),
        rejected: await queries.rows(
          "SELECT reason, count(*) AS count FROM processing_errors GROUP BY reason ORDER BY reason",
        ),
        presence: deps.presence?.() ?? [],
        alerts: (await deps.alerts?.()) ?? null,
      }
    })
    .get("/metrics", async ({ set }) => {
      const lag = await deps.consumerLag()
      if (lag) {
        deps.metrics.consumerPending(lag.pending)
        deps.metrics.consumerAckPending(lag.ackPending)
      }
      for (const row of deps.presence?.() ?? [])
        deps.metrics.agentOnline(row.state === "online" ? 1 : 0, { agent: row.agent })
      set.headers["content-type"] = "text/plain; version=0.0.4"
      return deps.metrics.registry.render()
    })
    .use(createSqlRoute(deps.queries, notReady))
    .use(createStatsUrlsRoute(deps.queries, notReady))
  return {
    async handle(request) {
      const started = performance.now()
      const response = await app.handle(request)
      deps.metrics.httpRequestDuration((performance.now() - started) / 1000, {
        route: httpRouteLabel(new URL(request.url).pathname),
        status_class: statusClass(response.status),
      })
      return response
    },
  }
}
