import { Elysia, t } from "elysia"
import type { QueryPool } from "../sinks/duckdb/query-pool.ts"
import { QueryError } from "../sinks/duckdb/query-pool-error.ts"

/** Rows `/sql` returns without a `limit` parameter, and the most it accepts. */
export const SQL_DEFAULT_ROWS = 1000
export const SQL_MAX_ROWS = 100_000

const STATUS: Record<QueryError["code"], number> = {
  not_allowed: 400,
  invalid: 400,
  busy: 503,
  timeout: 504,
  cancelled: 499,
  closed: 503,
}

/** The JSON error response for a failed query: 400 refused or failed, 503 busy, 504 timed out. */
export function queryErrorResponse(error: QueryError): Response {
  const status = STATUS[error.code]
  return new Response(JSON.stringify({ error: error.message, code: error.code }), {
    status,
    headers: { "content-type": "application/json", ...(status === 503 ? { "retry-after": "1" } : {}) },
  })
}

/**
 * `GET /sql?q=<one read-only statement>&limit=<rows>`: `{"rows": [...], "truncated": false}`, or with
 * `"truncated": true, "truncated_reason": "rows" | "bytes"` when a cap cut the result short; `notReady()` while
 * DuckDB is not open yet.
 */
export function createSqlRoute(queries: () => QueryPool | undefined, notReady: () => Response) {
  return new Elysia().get(
    "/sql",
    async ({ query, request }) => {
      const pool = queries()
      if (!pool) return notReady()
      try {
        const limit = Math.floor(query.limit)
        const result = await pool.query(query.q, { limit, signal: request.signal })
        const tail = result.truncated
          ? `"truncated":true,"truncated_reason":"${result.truncated}"`
          : `"truncated":false`
        // Rows arrive as JSON texts: join them rather than parse and serialize them again.
        return new Response(`{"rows":[${result.rows.join(",")}],${tail}}`, {
          headers: { "content-type": "application/json" },
        })
      } catch (error) {
        if (error instanceof QueryError) return queryErrorResponse(error)
        throw error
      }
    },
    {
      query: t.Object({
        q: t.String({ minLength: 1 }),
        limit: t.Numeric({ minimum: 1, maximum: SQL_MAX_ROWS, default: SQL_DEFAULT_ROWS }),
      }),
    },
  )
}
