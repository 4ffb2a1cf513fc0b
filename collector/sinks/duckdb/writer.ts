import { type DuckDBAppender, type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import type { EntryKindModule } from "../../kinds/kind.ts"
import { ENTRY_KINDS } from "../../kinds/registry.ts"
import type { Range } from "./coverage.ts"
import { coverageKey, selectNewEntries } from "./entries.ts"
import { FileCoverageCache, loadBatchFiles, MAX_CACHED_FILES } from "./file-cache.ts"
import { type StagedFile, type StagedPart, stageLogsBody, yieldToEventLoop } from "./log-parts.ts"
import { SCHEMA_SQL, SCHEMA_VERSION, UNSTAGE_STATEMENTS } from "./schema.ts"
import { timestampOf as ts } from "./timestamps.ts"
import type { WriteBatch, WriteResult } from "./types.ts"

/** Rows appended between two yields to the event loop. */
const APPEND_YIELD_EVERY_ROWS = 5000

/**
 * Owns the DuckDB file: one transaction per batch (rows, dedup state, envelope ids and errors together),
 * so a crash before commit leaves nothing behind and redelivery is harmless.
 */
export class DuckDbWriter {
  /** `<agent>.<seq>` of committed envelopes -> their stream sequence */
  private seen = new Map<string, number>()
  /** the previous generation of `seen`: ids live between one and two `rememberMs`, then are dropped */
  private seenBefore = new Map<string, number>()
  private seenSince = 0
  private rememberMs = 0
  private now: () => number = Date.now
  /** committed file generations and their coverage, most recently used last; misses are read from DuckDB */
  private files = new FileCoverageCache(MAX_CACHED_FILES)
  private queue: Promise<unknown> = Promise.resolve()
  /** stored entry ids per `agent \0 kind` (outbox kinds): a few ranges each, loaded at open */
  private entryCoverage = new Map<string, Range[]>()
  private kinds = new Map<string, EntryKindModule>()

  private constructor(
    /** the open database; query connections for HTTP are made from it */
    readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  /** Opens (creating if needed) the database file and loads the dedup state. */
  static async open(
    path: string,
    options: {
      memoryLimitMb?: number
      rememberEnvelopesMs?: number
      now?: () => number
      /** file generations kept in memory (default MAX_CACHED_FILES); tests make it small to force evictions */
      maxCachedFiles?: number
      /** outbox kinds stored (default: every kind in collector/kinds/registry.ts) */
      kinds?: readonly EntryKindModule[]
    } = {},
  ): Promise<DuckDbWriter> {
    const instance = await DuckDBInstance.create(path, {
      memory_limit: `${options.memoryLimitMb ?? 1024}MB`,
      // Row order within a batch does not matter (offsets identify lines); this lets inserts run in parallel.
      preserve_insertion_order: "false",
      // The collector itself never reads or writes files through SQL; /sql queries must not either.
      enable_external_access: "false",
      // Nothing may change settings after start, whatever slips through the /sql checks.
      lock_configuration: "true",
    })
    const conn = await instance.connect()
    await conn.run(SCHEMA_SQL)
    const kinds = options.kinds ?? ENTRY_KINDS
    for (const k of kinds) await conn.run(k.schemaSql)
    await conn.run("INSERT OR IGNORE INTO outpost_meta VALUES ('schema_version', $v)", {
      v: String(SCHEMA_VERSION),
    })
    const version = (
      await conn.runAndReadAll("SELECT value FROM outpost_meta WHERE key = 'schema_version'")
    ).getRows()
    if (String(version[0]?.[0]) !== String(SCHEMA_VERSION)) {
      throw new Error(
        `DuckDB file ${path} has schema version ${String(version[0]?.[0])}; this collector expects ${SCHEMA_VERSION}`,
      )
    }
    const writer = new DuckDbWriter(instance, conn)
    writer.rememberMs = options.rememberEnvelopesMs ?? 0
    writer.now = options.now ?? Date.now
    writer.seenSince = writer.now()
    writer.files = new FileCoverageCache(options.maxCachedFiles ?? MAX_CACHED_FILES)
    writer.kinds = new Map(kinds.map((k) => [k.kind, k]))
    await writer.loadState(writer.rememberMs)
    for (const k of kinds) await k.load(conn)
    return writer
  }

  /**
   * Loads envelope dedup state; ids older than `rememberMs` (0: all) cannot come back from the stream. File
   * coverage is not loaded here: `loadBatchFiles` reads it per batch for the files the batch touches.
   */
  private async loadState(rememberMs: number): Promise<void> {
    const since =
      rememberMs > 0
        ? `WHERE received_at > now()::TIMESTAMP - INTERVAL (${Math.ceil(rememberMs / 1000)}) SECOND`
        : ""
    const envelopes = await this.conn.runAndReadAll(`SELECT agent, seq, stream_seq FROM envelopes ${since}`)
    for (const [agent, seq, streamSeq] of envelopes.getRows()) {
      this.seen.set(`${String(agent)}.${String(seq)}`, Number(streamSeq))
    }
    const ranges = await this.conn.runAndReadAll(
      "SELECT agent, kind, start_id, end_id FROM entry_coverage ORDER BY agent, kind, start_id",
    )
    for (const [agent, kind, start, end] of ranges.getRows()) {
      const key = coverageKey(String(agent), String(kind))
      const list = this.entryCoverage.get(key) ?? []
      list.push({ start: Number(start), end: Number(end) })
      this.entryCoverage.set(key, list)
    }
  }

  /** File generations whose coverage is held in memory; bounded by `maxCachedFiles`. */
  get cachedFiles(): number {
    return this.files.size
  }

  /** True when an envelope with this agent and seq is already committed. */
  hasEnvelope(agent: string, seq: number): boolean {
    return this.committedStreamSeq(agent, seq) !== undefined
  }

  /** Stream sequence of the committed envelope with this agent and seq, if any. */
  committedStreamSeq(agent: string, seq: number): number | undefined {
    const id = `${agent}.${seq}`
    return this.seen.get(id) ?? this.seenBefore.get(id)
  }

  /** Writes one batch in one transaction; batches are serialized. */
  write(batch: WriteBatch): Promise<WriteResult> {
    const run = this.queue.then(() => this.writeNow(batch))
    this.queue = run.catch(() => {})
    return run
  }

  private async writeNow(batch: WriteBatch): Promise<WriteResult> {
    const started = performance.now()
    const { coverage, known } = await loadBatchFiles(this.conn, this.files, batch.accepted)
    const staged = { parts: [] as StagedPart[], files: [] as StagedFile[] }
    for (const env of batch.accepted) {
      if (!env.logs) continue
      await stageLogsBody(env.meta.agent, env.meta.host, env.logs, coverage, staged)
      // Between envelopes too: other agents' messages, acks and HTTP must not wait for the whole batch.
      await yieldToEventLoop()
    }
    const touched = new Set(staged.files.map((f) => f.fileId))
    const newFiles = new Map<bigint, StagedFile>()
    for (const f of staged.files) if (!known.has(f.fileId)) newFiles.set(f.fileId, f)
    const receivedAt = ts(batch.receivedAt)
    let linesWritten = 0
    // Outbox kinds: a working copy of the id coverage, adopted only after COMMIT.
    const entryCoverage = new Map(this.entryCoverage)
    const entries = selectNewEntries(batch.accepted, entryCoverage)
    const entriesWritten: Record<string, number> = {}
    const entriesDropped: Record<string, number> = {}
    const commits: (() => void)[] = []
    await this.conn.run("BEGIN TRANSACTION")
    try {
      await this.append("log_files", [...newFiles.values()], (a, f) => {
        a.appendBigInt(f.fileId)
        a.appendVarchar(f.agent)
        a.appendVarchar(f.host)
        a.appendVarchar(f.path)
        a.appendVarchar(f.gen)
        a.appendTimestamp(receivedAt)
      })
      let partId = 0
      await this.append("log_stage", staged.parts, (a, p) => {
        a.appendInteger(partId++)
        a.appendBigInt(p.fileId)
        a.appendBigInt(BigInt(p.offset))
        a.appendBoolean(p.raw)
        if (p.block) a.appendBlob(p.block)
        else a.appendNull()
        if (p.text !== undefined) a.appendVarchar(p.text)
        else a.appendNull()
        a.appendBoolean(p.truncated)
        if (p.rule === null) a.appendNull()
        else a.appendVarchar(p.rule)
        a.appendTimestamp(ts(p.readAt))
      })
      if (staged.parts.length > 0) {
        const [split, insert, clearStage, dropSplit] = UNSTAGE_STATEMENTS
        await this.conn.run(split)
        linesWritten = Number((await this.conn.run(insert, { received_at: receivedAt })).rowsChanged)
        await this.conn.run(clearStage)
        await this.conn.run(dropSplit)
      }
      if (touched.size > 0) {
        await this.conn.run(`DELETE FROM log_coverage WHERE file_id IN (${[...touched].join(",")})`)
        const rows = [...touched].flatMap((id) => (coverage.get(id) ?? []).map((r) => [id, r] as const))
        await this.append("log_coverage", rows, (a, [id, r]) => {
          a.appendBigInt(id)
          a.appendBigInt(BigInt(r.start))
          a.appendBigInt(BigInt(r.end))
        })
      }
      for (const [kind, rows] of entries.rows) {
        const module = this.kinds.get(kind)
        if (!module) throw new Error(`no module for kind '${kind}' (verify accepts only registered kinds)`)
        if (rows.length === 0) continue
        const r = await module.append(this.conn, rows, batch.receivedAt)
        entriesWritten[kind] = (entriesWritten[kind] ?? 0) + r.rows
        commits.push(r.commit)
      }
      await this.append("entry_gaps", entries.gaps, (a, g) => {
        a.appendVarchar(g.agent)
        a.appendVarchar(g.kind)
        a.appendBigInt(BigInt(g.dropped.count))
        a.appendBigInt(BigInt(g.dropped.before_id))
        a.appendTimestamp(receivedAt)
        entriesDropped[g.kind] = (entriesDropped[g.kind] ?? 0) + g.dropped.count
      })
      for (const key of entries.touched) {
        const [agent, kind] = key.split("\u0000") as [string, string]
        await this.conn.run("DELETE FROM entry_coverage WHERE agent = $agent AND kind = $kind", {
          agent,
          kind,
        })
        await this.append("entry_coverage", entryCoverage.get(key) ?? [], (a, r) => {
          a.appendVarchar(agent)
          a.appendVarchar(kind)
          a.appendBigInt(BigInt(r.start))
          a.appendBigInt(BigInt(r.end))
        })
      }
      await this.append("envelopes", batch.accepted, (a, e) => {
        a.appendVarchar(e.meta.agent)
        a.appendBigInt(BigInt(e.meta.seq))
        a.appendVarchar(e.meta.host)
        a.appendVarchar(e.meta.kind)
        a.appendInteger(e.meta.count)
        a.appendInteger(e.bytes)
        a.appendTimestamp(ts(e.meta.sentAt))
        a.appendTimestamp(receivedAt)
        a.appendBigInt(BigInt(e.streamSeq))
      })
      await this.append("processing_errors", batch.rejected, (a, r) => {
        a.appendTimestamp(receivedAt)
        a.appendVarchar(r.reason)
        a.appendVarchar(r.message)
        a.appendVarchar(r.subject)
        if (r.agent) a.appendVarchar(r.agent)
        else a.appendNull()
        a.appendVarchar(JSON.stringify(r.headers))
        a.appendInteger(r.size)
        if (r.streamSeq === undefined) a.appendNull()
        else a.appendBigInt(BigInt(r.streamSeq))
      })
      await this.conn.run("COMMIT")
    } catch (error) {
      await this.conn.run("ROLLBACK").catch(() => {})
      throw error
    }
    for (const id of touched) this.files.set(id, coverage.get(id) ?? [])
    this.entryCoverage = entryCoverage
    for (const commit of commits) commit()
    if (this.rememberMs > 0 && this.now() - this.seenSince > this.rememberMs) {
      this.seenBefore = this.seen
      this.seen = new Map()
      this.seenSince = this.now()
    }
    for (const e of batch.accepted) this.seen.set(`${e.meta.agent}.${e.meta.seq}`, e.streamSeq)
    return { linesWritten, entriesWritten, entriesDropped, durationMs: performance.now() - started }
  }

  private async append<T>(table: string, rows: readonly T[], write: (a: DuckDBAppender, row: T) => void) {
    if (rows.length === 0) return
    const appender = await this.conn.createAppender(table)
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

  /**
   * Runs a query on the writer's connection, serialized with writes, and returns rows as objects. For tests and
   * tools only: anything a user sends goes through the query pool (sinks/duckdb/query-pool.ts), never here.
   */
  query(
    sql: string,
    params?: Record<string, string | number | boolean | null>,
  ): Promise<Record<string, unknown>[]> {
    const run = this.queue.then(async () =>
      (await this.conn.runAndReadAll(sql, params)).getRowObjects().map(jsonRow),
    )
    this.queue = run.catch(() => {})
    return run as Promise<Record<string, unknown>[]>
  }

  /** A tiny write of its own (serialized with batches): tells a database that cannot write from one bad batch. */
  probe(): Promise<void> {
    const run = this.queue.then(async () => {
      await this.conn.run("BEGIN TRANSACTION")
      try {
        await this.conn.run("INSERT OR REPLACE INTO outpost_meta VALUES ('storage_probe', $at)", {
          at: new Date().toISOString(),
        })
        await this.conn.run("COMMIT")
      } catch (error) {
        await this.conn.run("ROLLBACK").catch(() => {})
        throw error
      }
    })
    this.queue = run.catch(() => {})
    return run
  }

  /** Closes the connection and the database (checkpointing the WAL). */
  async close(): Promise<void> {
    await this.queue
    await this.conn.run("CHECKPOINT").catch(() => {})
    this.conn.closeSync()
    this.instance.closeSync()
  }
}

/** JSON-friendly row: integers as numbers when they fit, times and other DuckDB values as their text form. */
function jsonRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(row)) {
    if (typeof value === "bigint") {
      out[key] =
        value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(value)
          : String(value)
    } else if (value !== null && typeof value === "object") out[key] = String(value)
    else out[key] = value
  }
  return out
}
