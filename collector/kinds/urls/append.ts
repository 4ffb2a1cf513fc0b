import { type DuckDBAppender, type DuckDBConnection, LIST, listValue, VARCHAR } from "@duckdb/node-api"
import {
  checkUrlResult,
  URL_OUTCOMES,
  type UrlOutcome,
  type UrlResult,
} from "../../../shared/protocol/urls/result.ts"
import { yieldToEventLoop } from "../../sinks/duckdb/log-parts.ts"
import { timestampOf as ts } from "../../sinks/duckdb/timestamps.ts"
import type { EntryKindModule, EntryRow } from "../kind.ts"
import { URLS_CONFIG_DEFAULTS, URLS_SCHEMA_SQL, type UrlsConfig } from "./schema.ts"
import { UrlStateBook } from "./state-book.ts"
import type { CheckState, UrlState } from "./states.ts"

/** Rows appended between two yields to the event loop (as the logs writer does). */
const APPEND_YIELD_EVERY_ROWS = 5000

const STATES: readonly string[] = ["unknown", ...URL_OUTCOMES]

/**
 * The `urls` kind: every result into `url_checks`, the judged state per (agent, check) and per url across
 * agents into `url_state_changes`, the current state into `url_check_state` / `url_site_state`. Results are
 * judged in started_at order; one older than the last judged result of its agent and check is stored with
 * `judged = false` and does not move the state. The state in memory is kept per connection that `load` was
 * called with, so one module serves any number of databases (tests open many).
 */
export function createUrlsKind(config: UrlsConfig = URLS_CONFIG_DEFAULTS): EntryKindModule<UrlResult> {
  const books = new WeakMap<DuckDBConnection, UrlStateBook>()
  return {
    kind: "urls",
    schemaSql: URLS_SCHEMA_SQL,
    check: checkUrlResult,
    async load(conn) {
      const checks = await conn.runAndReadAll(`
        SELECT agent, "check", url, state, epoch_ms(last_started_at), run_outcome, run, non_up_run, down_in_run
        FROM url_check_state`)
      const sites = await conn.runAndReadAll("SELECT url, state FROM url_site_state")
      const book = new UrlStateBook(config)
      book.reset(
        checks.getRows().map(
          ([agent, check, url, state, last, runOutcome, run, nonUpRun, downInRun]): CheckState => ({
            agent: String(agent),
            check: String(check),
            url: String(url),
            state: asState(state),
            lastStartedAt: Number(last),
            runOutcome: asState(runOutcome) as UrlOutcome,
            run: Number(run),
            nonUpRun: Number(nonUpRun),
            downInRun: downInRun === true,
          }),
        ),
        sites.getRows().map(([url, state]) => [String(url), asState(state)]),
      )
      books.set(conn, book)
    },
    async append(conn, rows, receivedAt) {
      const book = books.get(conn)
      // Judging without the stored state would record every check as new ('unknown ->') again.
      if (!book) throw new Error("urls: append on a connection that load() was not called with")
      const draft = book.draft()
      // Judged across agents in started_at order, so that the site judgement sees a batch as it happened.
      const order = rows.map((_, i) => i)
      order.sort((a, b) => byStart(rows[a] as EntryRow<UrlResult>, rows[b] as EntryRow<UrlResult>))
      const judged = new Array<boolean>(rows.length)
      for (const i of order) {
        const row = rows[i] as EntryRow<UrlResult>
        judged[i] = draft.apply(row.agent, row.entry)
      }
      const received = ts(receivedAt)
      let i = 0
      await append(conn, "url_checks", rows, (a, { agent, host, entry: e }) => {
        a.appendVarchar(agent)
        a.appendVarchar(host)
        a.appendVarchar(e.check)
        a.appendVarchar(e.url)
        a.appendTimestamp(ts(e.started_at))
        const t = e.timings
        for (const ms of [t.dns_ms, t.connect_ms, t.tls_ms, t.first_byte_ms, t.transfer_ms]) nullable(a, ms)
        a.appendDouble(t.total_ms)
        if (e.status === null) a.appendNull()
        else a.appendInteger(e.status)
        a.appendBigInt(BigInt(e.bytes))
        a.appendInteger(e.redirects)
        if (e.cert_expires_at === null) a.appendNull()
        else a.appendTimestamp(ts(e.cert_expires_at))
        a.appendVarchar(e.outcome)
        text(a, e.reason)
        text(a, e.message)
        a.appendBigInt(BigInt(e.id))
        a.appendTimestamp(received)
        a.appendBoolean(judged[i++] === true)
      })
      const checks = [...draft.checks.values()]
      if (checks.length > 0) {
        await conn.run(
          `DELETE FROM url_check_state s WHERE EXISTS (
             SELECT 1 FROM (SELECT unnest($agents) AS agent, unnest($checks) AS c) k
             WHERE k.agent = s.agent AND k.c = s."check")`,
          { agents: listValue(checks.map((c) => c.agent)), checks: listValue(checks.map((c) => c.check)) },
          { agents: LIST(VARCHAR), checks: LIST(VARCHAR) },
        )
        await append(conn, "url_check_state", checks, (a, c) => {
          a.appendVarchar(c.agent)
          a.appendVarchar(c.check)
          a.appendVarchar(c.url)
          a.appendVarchar(c.state)
          a.appendTimestamp(ts(c.lastStartedAt))
          a.appendVarchar(c.runOutcome)
          a.appendInteger(c.run)
          a.appendInteger(c.nonUpRun)
          a.appendBoolean(c.downInRun)
        })
      }
      for (const [url, state] of draft.sites) {
        await conn.run("DELETE FROM url_site_state WHERE url = $url", { url })
        await conn.run("INSERT INTO url_site_state VALUES ($url, $state)", { url, state })
      }
      for (const c of draft.changes) {
        await conn.run(
          `INSERT INTO url_state_changes VALUES ($agent, $check, $url, $at, $from, $to, $reason, $consecutive,
             $scope, $detail, $received)`,
          { ...c, at: ts(c.at), received },
        )
      }
      return { rows: rows.length, commit: () => draft.commit() }
    },
  }
}

function byStart(a: EntryRow<UrlResult>, b: EntryRow<UrlResult>): number {
  return (
    a.entry.started_at - b.entry.started_at ||
    (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0) ||
    a.entry.id - b.entry.id
  )
}

function asState(v: unknown): UrlState {
  const s = String(v)
  if (!STATES.includes(s)) throw new Error(`url_check_state holds an unknown state '${s}'`)
  return s as UrlState
}

function nullable(a: DuckDBAppender, ms: number | null): void {
  if (ms === null) a.appendNull()
  else a.appendDouble(ms)
}

function text(a: DuckDBAppender, v: string | null): void {
  if (v === null) a.appendNull()
  else a.appendVarchar(v)
}

async function append<T>(
  conn: DuckDBConnection,
  table: string,
  rows: readonly T[],
  write: (a: DuckDBAppender, row: T) => void,
): Promise<void> {
  if (rows.length === 0) return
  const appender = await conn.createAppender(table)
  try {
    let n = 0
    for (const row of rows) {
      write(appender, row)
      appender.endRow()
      // Appending is synchronous: let acks, keep-alives and HTTP in between on a large batch.
      if (++n % APPEND_YIELD_EVERY_ROWS === 0) await yieldToEventLoop()
    }
    appender.flushSync()
  } finally {
    appender.closeSync()
  }
}

/** The `urls` kind with the default `[urls]` thresholds (for the registry: check, schema; see createUrlsKind). */
export const urlsKind: EntryKindModule<UrlResult> = createUrlsKind()
