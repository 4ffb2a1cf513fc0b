import { DuckDBTimestampValue } from "@duckdb/node-api"

/** ms since the epoch as DuckDB's TIMESTAMP microseconds (for `make_timestamp($x::BIGINT)`). */
export const microsOf = (ms: number): bigint => BigInt(Math.round(ms)) * 1000n

/** ms since the epoch as a DuckDB TIMESTAMP value (appenders and typed parameters). */
export const timestampOf = (ms: number): DuckDBTimestampValue => new DuckDBTimestampValue(microsOf(ms))
