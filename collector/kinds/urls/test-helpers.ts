import { join } from "node:path"
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import type { UrlOutcome, UrlReason, UrlResult } from "../../../shared/protocol/urls/result.ts"
import { tempDir } from "../../../test/harness/temp-dir.ts"
import type { EntryKindModule, EntryRow } from "../kind.ts"
import { createUrlsKind } from "./append.ts"
import type { UrlsConfig } from "./schema.ts"

const T0 = Date.UTC(2030, 0, 1)
const MINUTE = 60_000

/** A result of `check` at minute `minute` after 2030-01-01 (its id is the minute + 1 unless given). */
export function result(
  minute: number,
  outcome: UrlOutcome,
  more: Partial<UrlResult> & { total_ms?: number } = {},
): UrlResult {
  const reason: UrlReason | null = outcome === "up" ? null : outcome === "degraded" ? "slow" : "timeout"
  const { total_ms = 100, ...rest } = more
  return {
    id: minute + 1,
    check: "home",
    url: "https://example.test/",
    started_at: T0 + minute * MINUTE,
    timings: { dns_ms: 1, connect_ms: 2, tls_ms: null, first_byte_ms: 50, transfer_ms: 3, total_ms },
    status: outcome === "down" ? null : 200,
    bytes: 512,
    redirects: 0,
    cert_expires_at: null,
    outcome,
    reason,
    message: reason === null ? null : `it was ${reason}`,
    ...rest,
  }
}

/** ISO text of minute `minute` of the test clock. */
export const at = (minute: number) => new Date(T0 + minute * MINUTE).toISOString()
export const minuteMs = (minute: number) => T0 + minute * MINUTE

/** A urls kind on a DuckDB file in a temp dir; `reopen()` closes and opens it again with a fresh kind. */
export async function openKindDb(config?: UrlsConfig) {
  const dir = tempDir("outpost-urls-")
  const path = join(dir.path, "urls.duckdb")
  let instance: DuckDBInstance
  let conn: DuckDBConnection
  let kind: EntryKindModule<UrlResult>
  const open = async () => {
    instance = await DuckDBInstance.create(path)
    conn = await instance.connect()
    kind = createUrlsKind(config)
    await conn.run(kind.schemaSql)
    await kind.load(conn)
  }
  const close = () => {
    conn.closeSync()
    instance.closeSync()
  }
  await open()
  return {
    get instance() {
      return instance
    },
    /** Appends in a committed transaction, as the writer does. */
    async write(rows: EntryRow<UrlResult>[], receivedAt = T0): Promise<number> {
      await conn.run("BEGIN TRANSACTION")
      try {
        const done = await kind.append(conn, rows, receivedAt)
        await conn.run("COMMIT")
        done.commit()
        return done.rows
      } catch (error) {
        await conn.run("ROLLBACK").catch(() => {})
        throw error
      }
    },
    /** Appends, then rolls back without calling commit(). */
    async writeRolledBack(rows: EntryRow<UrlResult>[]): Promise<void> {
      await conn.run("BEGIN TRANSACTION")
      await kind.append(conn, rows, T0)
      await conn.run("ROLLBACK")
    },
    /** url_state_changes as "agent|scope from->to (consecutive) detail", oldest first. */
    async changes(): Promise<string[]> {
      const reader = await conn.runAndReadAll(`
        SELECT coalesce(agent, '*'), scope, from_state, to_state, consecutive, detail, reason FROM url_state_changes
        ORDER BY changed_at, scope, agent NULLS LAST`)
      return reader
        .getRows()
        .map(([a, s, f, t, n, d, r]) => `${a}|${s} ${f}->${t} (${n}${r === null ? "" : ` ${r}`}) ${d}`)
    },
    async rows(sql: string) {
      return (await conn.runAndReadAll(sql)).getRowObjectsJS()
    },
    async reopen() {
      close()
      await open()
    },
    async [Symbol.asyncDispose]() {
      close()
      await dir[Symbol.asyncDispose]()
    },
  }
}

/** Rows of one agent. */
export const rowsOf = (agent: string, results: UrlResult[]): EntryRow<UrlResult>[] =>
  results.map((entry) => ({ agent, host: `${agent}.host`, entry }))
