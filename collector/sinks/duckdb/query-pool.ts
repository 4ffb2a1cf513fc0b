import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement } from "@duckdb/node-api"
import { duckDbMessage, QueryError } from "./query-pool-error.ts"
import { nativeThreads, untilAborted } from "./query-pool-native.ts"
import { type CollectedRows, RowCollector } from "./query-pool-rows.ts"
import { type CheckedStatement, checkStatement } from "./query-pool-statement.ts"
import { QuerySlots } from "./query-slots.ts"

/** How long close() waits for running queries to wind down after interrupting them. */
const CLOSE_GRACE_MS = 2000

export type QueryPoolOptions = {
  /** queries running at once, each on its own connection (capped by the native threads, see below) */
  maxConcurrent: number
  /** queries waiting for a slot; one more is refused as `busy` */
  maxQueued: number
  /** a running query is interrupted after this long; a waiting one gives up after this long */
  timeoutMs: number
  /** JSON bytes of the rows of one result */
  maxResultBytes: number
  /** longest SQL text accepted */
  maxQueryChars: number
  /** told once at open when fewer queries than `maxConcurrent` can run at once */
  log?: (message: string) => void
}

export type QueryRequest = {
  /** rows returned at most; one more makes the result `truncated: "rows"` */
  limit: number
  /** aborts when the client goes away: the query is interrupted */
  signal?: AbortSignal
}

/** One statement's state, cleaned up after the answer is sent. */
type Session = {
  conn: DuckDBConnection
  began: boolean
  prepared?: DuckDBPreparedStatement
  /** resolves when the last native call has returned (it may outlive an abort) */
  idle: Promise<void>
}

/**
 * Runs read-only ad-hoc queries on connections of their own, apart from the writer: each in a READ ONLY
 * transaction, interrupted after `timeoutMs` or when the client goes away, its result streamed and cut at
 * the row and byte caps. At most `slots` run at once (more wait in a bounded queue), where `slots` leaves
 * the writer a native thread (see query-pool-native.ts): ingestion never waits for a query.
 */
export class QueryPool {
  private readonly idle: DuckDBConnection[] = []
  private readonly admission: QuerySlots
  /** queries past the check, executing in DuckDB or streaming their result */
  private executing = 0
  private closed = false
  /** aborts every running query at close */
  private readonly stopAll = new AbortController()
  private readonly cleanups = new Set<Promise<void>>()

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly options: QueryPoolOptions,
    /** queries running at once */
    readonly slots: number,
  ) {
    this.admission = new QuerySlots(slots, options.maxQueued, options.timeoutMs)
  }

  /** Opens a pool on the writer's database (`writer.instance`) and checks that it can run a query. */
  static async open(instance: DuckDBInstance, options: QueryPoolOptions): Promise<QueryPool> {
    const native = nativeThreads()
    const slots = Math.max(1, Math.min(options.maxConcurrent, native.threads - 1))
    if (slots < options.maxConcurrent) {
      options.log?.(
        `sql: ${slots} query at a time, not sql.max_concurrent = ${options.maxConcurrent}: the process has ${native.threads} native worker threads${native.fromEnv ? "" : " (UV_THREADPOOL_SIZE not set)"} and ingestion keeps one; start the collector with UV_THREADPOOL_SIZE=${options.maxConcurrent + 2}`,
      )
    }
    const pool = new QueryPool(instance, options, slots)
    await pool.query("SELECT 1 AS ok", { limit: 1 })
    return pool
  }

  /** Queries holding a slot (`running`, of which `executing` are past the check) and waiting now. */
  get load(): { running: number; executing: number; queued: number } {
    return { running: this.admission.running, executing: this.executing, queued: this.admission.queued }
  }

  /** Checks and runs one read-only statement; rejects with a QueryError. */
  async query(sql: string, request: QueryRequest): Promise<CollectedRows> {
    if (this.closed) throw new QueryError("closed", "the collector is stopping")
    if (sql.length > this.options.maxQueryChars) {
      throw new QueryError(
        "not_allowed",
        `q has ${sql.length} characters; sql.max_query_chars allows ${this.options.maxQueryChars}`,
      )
    }
    const stop = new AbortController()
    const abort = (error: QueryError) => {
      if (!stop.signal.aborted) stop.abort(error)
    }
    const onClient = () =>
      abort(new QueryError("cancelled", "the client went away; the query was interrupted"))
    const onClose = () =>
      abort(new QueryError("closed", "the collector is stopping; the query was interrupted"))
    request.signal?.addEventListener("abort", onClient, { once: true })
    this.stopAll.signal.addEventListener("abort", onClose, { once: true })
    if (request.signal?.aborted) onClient()
    const timeout = new QueryError(
      "timeout",
      `the query ran longer than sql.timeout_ms (${this.options.timeoutMs} ms) and was interrupted`,
    )
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      await this.admission.admit(stop.signal)
      // From here this query holds a slot until its clean-up has finished.
      timer = setTimeout(() => abort(timeout), this.options.timeoutMs)
      let conn = this.idle.pop()
      if (!conn) {
        const connecting = this.instance.connect()
        try {
          conn = await untilAborted(connecting, stop.signal).result
        } catch (error) {
          // Aborted while connecting: close the connection whenever it arrives, then free the slot.
          this.track(
            connecting
              .then(
                (c) => c.closeSync(),
                () => {},
              )
              .finally(() => this.admission.release()),
          )
          throw error
        }
      }
      const session: Session = { conn, began: false, idle: Promise.resolve() }
      try {
        return await this.execute(session, sql, request.limit, stop.signal)
      } finally {
        // The answer does not wait for the rollback; the slot does.
        this.track(this.cleanUp(session).finally(() => this.admission.release()))
      }
    } finally {
      clearTimeout(timer)
      request.signal?.removeEventListener("abort", onClient)
      this.stopAll.signal.removeEventListener("abort", onClose)
    }
  }

  /** Rows of a trusted query as objects (for /status); same limits as any query. */
  async rows(sql: string): Promise<Record<string, unknown>[]> {
    const result = await this.query(sql, { limit: 100_000 })
    return result.rows.map((row) => JSON.parse(row) as Record<string, unknown>)
  }

  /** Refuses waiting queries, interrupts running ones and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.admission.refuseAll(new QueryError("closed", "the collector is stopping"))
    this.stopAll.abort()
    // A native call DuckDB cannot interrupt may keep its connection a while: stopping does not wait for it.
    const deadline = Date.now() + CLOSE_GRACE_MS
    while (this.cleanups.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.all([...this.cleanups]), Bun.sleep(deadline - Date.now())])
    }
    for (const conn of this.idle.splice(0)) conn.closeSync()
  }

  /** One native call of a session: answered on abort at once, its thread tracked until it returns. */
  private call<T>(session: Session, run: () => Promise<T>, signal: AbortSignal): Promise<T> {
    signal.throwIfAborted()
    const { result, settled } = untilAborted(run(), signal)
    session.idle = settled
    return result
  }

  private async execute(session: Session, sql: string, limit: number, signal: AbortSignal) {
    const { conn } = session
    const interrupt = () => conn.interrupt()
    signal.addEventListener("abort", interrupt, { once: true })
    const native = <T>(run: () => Promise<T>) => this.call(session, run, signal)
    try {
      await native(() => conn.run("BEGIN TRANSACTION READ ONLY"))
      session.began = true
      const statement = await checkStatement(conn, sql, {
        maxValueChars: this.options.maxResultBytes,
        native,
      })
      session.prepared = statement.prepared
      signal.throwIfAborted()
      this.executing++
      try {
        return await this.stream(statement, limit, native, conn)
      } finally {
        this.executing--
      }
    } catch (error) {
      // After an abort DuckDB only says "Interrupted"; the reason says why.
      if (signal.aborted) throw signal.reason
      if (error instanceof QueryError) throw error
      throw new QueryError("invalid", duckDbMessage(error), { cause: error })
    } finally {
      signal.removeEventListener("abort", interrupt)
    }
  }

  /**
   * Runs the checked statement and reads its result up to the caps. The result call drives execution on
   * this query's native thread, with DuckDB's background threads helping; each later fetch runs the
   * streaming part of the plan until its next chunk.
   */
  private async stream(
    statement: CheckedStatement,
    limit: number,
    native: <T>(run: () => Promise<T>) => Promise<T>,
    conn: DuckDBConnection,
  ): Promise<CollectedRows> {
    const result = await native(() => statement.prepared.stream())
    const rows = new RowCollector(statement.columns, limit, this.options.maxResultBytes)
    for (;;) {
      const chunk = await native(() => result.fetchChunk())
      if (!chunk || chunk.rowCount === 0) break
      if (!rows.add(chunk)) {
        // A cap was reached: stop DuckDB producing the rest.
        conn.interrupt()
        break
      }
    }
    return rows.result()
  }

  /** Ends the transaction (which also drops an unfinished result) and returns the connection. */
  private async cleanUp(session: Session): Promise<void> {
    // A native call that outlived an abort still owns the connection.
    await session.idle
    let healthy = true
    if (session.began) {
      await session.conn.run("ROLLBACK").catch(() => {
        healthy = false
      })
    }
    session.prepared?.destroySync()
    if (healthy && !this.closed) this.idle.push(session.conn)
    else session.conn.closeSync()
  }

  private track(cleanup: Promise<void>): void {
    this.cleanups.add(cleanup)
    void cleanup.finally(() => this.cleanups.delete(cleanup))
  }
}

/** Opens a QueryPool on `instance` (the writer's `instance`). */
export function openQueryPool(instance: DuckDBInstance, options: QueryPoolOptions): Promise<QueryPool> {
  return QueryPool.open(instance, options)
}
