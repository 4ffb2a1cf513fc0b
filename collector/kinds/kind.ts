import type { DuckDBConnection } from "@duckdb/node-api"
import type { EntryBase } from "../../shared/protocol/entries-body.ts"
import type { Kind } from "../../shared/protocol/subjects.ts"

/** One new entry (deduplicated by id) with the agent and host of its envelope. */
export type EntryRow<E> = { agent: string; host: string; entry: E }

/**
 * The collector side of an outbox kind (`urls`, `heartbeats`, later `events`): the same files in every
 * `collector/kinds/<kind>/` folder. The writer decodes bodies with the shared codec and `check`, drops entries
 * already stored (by agent, kind and id ranges in `entry_coverage`), and calls `append` inside its one DuckDB
 * transaction with the new ones; `commit` runs only after COMMIT succeeded.
 */
export type EntryKindModule<E extends EntryBase = EntryBase> = {
  kind: Kind
  /** DDL run once at open: CREATE TABLE IF NOT EXISTS ... */
  schemaSql: string
  /** checks one decoded entry (shared/protocol/<kind>/): a problem, or undefined */
  check(entry: Record<string, unknown>): string | undefined
  /** after open: loads what the kind keeps in memory from its tables */
  load(conn: DuckDBConnection): Promise<void>
  /** appends rows for new entries (in id order per agent) in the open transaction */
  append(
    conn: DuckDBConnection,
    rows: EntryRow<E>[],
    receivedAt: number,
  ): Promise<{ rows: number; commit(): void }>
}
