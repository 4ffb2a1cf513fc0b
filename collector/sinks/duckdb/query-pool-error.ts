import { OutpostError } from "../../../shared/errors.ts"

/**
 * Why a query did not run to the end: `not_allowed` (not one read-only statement), `invalid` (DuckDB refused
 * or failed it), `busy` (no slot and the queue is full, or no slot within the timeout), `timeout`,
 * `cancelled` (the client went away) or `closed` (the collector is stopping).
 */
export type QueryErrorCode = "not_allowed" | "invalid" | "busy" | "timeout" | "cancelled" | "closed"

/** A query refused, failed or interrupted; the message is meant for the client. */
export class QueryError extends OutpostError {
  declare readonly code: QueryErrorCode
  constructor(code: QueryErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

/** DuckDB's message without the internal native-callback noise. */
export function duckDbMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
