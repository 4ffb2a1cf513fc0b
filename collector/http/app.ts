import { Elysia, t } from "elysia"
import type { CollectorMetrics } from "../metrics/collector-metrics.ts"
import type { DuckDbWriter } from "../sinks/duckdb/writer.ts"
import { isReadOnlyQuery } from "./read-only-sql.ts"

export type HttpDeps = {
  writer: DuckDbWriter
  metrics: CollectorMetrics
  /** NATS connected and the ingest loop running */
  healthy(): boolean
  /** consumer lag, refreshed on call */
  consumerLag(): Promise<{ pending: number; ackPending: number } | null>
  startedAt: number
}

/** HTTP surface: /health, /status, /metrics and read-only /sql. Errors are JSON with a message. */
export function createHttpApp(deps: HttpDeps) {
  return new Elysia()
    .onError(({ code, error, set }) => {
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
      const ok = deps.healthy()
      set.status = ok ? 200 : 503
      return { status: ok ? "ok" : "degraded" }
    })
    .get("/status", async () => {
      const agents = await deps.writer.query(`
        SELECT agent, any_value(host) AS host, max(received_at)::VARCHAR AS last_envelope_at,
               count(*) AS envelopes, sum(entries) AS records
        FROM envelopes GROUP BY agent ORDER BY agent`)
      const lag = await deps.consumerLag()
      return {
        uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
        agents,
        consumer: lag,
        rejected: await deps.writer.query(
          "SELECT reason, count(*) AS count FROM processing_errors GROUP BY reason ORDER BY reason",
        ),
      }
    })
    .get("/metrics", async ({ set }) => {
      const lag = await deps.consumerLag()
      if (lag) {
        deps.metrics.consumerPending(lag.pending)
        deps.metrics.consumerAckPending(lag.ackPending)
      }
      set.headers["content-type"] = "text/plain; version=0.0.4"
      return deps.metrics.registry.render()
    })
    .get(
      "/sql",
      async ({ query, set }) => {
        if (!isReadOnlyQuery(query.q)) {
          set.status = 400
          return { error: "only one read-only query (SELECT, WITH, FROM or VALUES) is allowed" }
        }
        try {
          const rows = await deps.writer.query(`SELECT * FROM (${query.q}) LIMIT ${query.limit}`)
          return { rows }
        } catch (error) {
          set.status = 400
          return { error: (error as Error).message }
        }
      },
      {
        query: t.Object({
          q: t.String({ minLength: 1 }),
          limit: t.Numeric({ minimum: 1, maximum: 100_000, default: 1000 }),
        }),
      },
    )
}
