import type { DuckDBConnection } from "@duckdb/node-api"
import type { Range } from "./coverage.ts"
import { fileIdOf, STAGE_YIELD_EVERY_PARTS, yieldToEventLoop } from "./log-parts.ts"
import type { AcceptedEnvelope } from "./types.ts"

/** File generations whose coverage the writer keeps in memory; the rest is read back from DuckDB on demand. */
export const MAX_CACHED_FILES = 50_000

/**
 * Least-recently-used cache of committed file generations (each has a `log_files` row) and their merged coverage.
 * A Map iterates in insertion order, so re-inserting on use keeps the oldest entry first, ready to evict.
 */
export class FileCoverageCache {
  private readonly entries = new Map<bigint, Range[]>()

  constructor(readonly capacity: number = MAX_CACHED_FILES) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new Error(`file cache capacity must be a positive integer, got ${capacity}`)
  }

  get size(): number {
    return this.entries.size
  }

  /** The file's coverage if cached (marking it recently used), else undefined. */
  get(fileId: bigint): Range[] | undefined {
    const ranges = this.entries.get(fileId)
    if (ranges !== undefined) {
      this.entries.delete(fileId)
      this.entries.set(fileId, ranges)
    }
    return ranges
  }

  /** Records a committed file's coverage, evicting the least recently used files past the capacity. */
  set(fileId: bigint, ranges: Range[]): void {
    this.entries.delete(fileId)
    this.entries.set(fileId, ranges)
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break
      this.entries.delete(oldest)
    }
  }
}

/** A batch's view of its files: coverage per file (absent: nothing covered) and the files already in `log_files`. */
export type BatchFiles = { coverage: Map<bigint, Range[]>; known: Set<bigint> }

/**
 * Working copy of the coverage of every file the batch names: from the cache, and for the misses from DuckDB
 * (one query per table, `file_id IN (...)`). The cache itself is only updated once the batch has committed.
 */
export async function loadBatchFiles(
  conn: DuckDBConnection,
  cache: FileCoverageCache,
  accepted: readonly AcceptedEnvelope[],
): Promise<BatchFiles> {
  const coverage = new Map<bigint, Range[]>()
  const known = new Set<bigint>()
  const missing = new Set<bigint>()
  let hashed = 0
  for (const env of accepted) {
    for (const file of env.logs?.manifest.files ?? []) {
      if (++hashed % STAGE_YIELD_EVERY_PARTS === 0) await yieldToEventLoop()
      const id = fileIdOf(env.meta.agent, file.gen)
      if (known.has(id) || missing.has(id)) continue
      const ranges = cache.get(id)
      if (ranges === undefined) missing.add(id)
      else {
        known.add(id)
        coverage.set(id, ranges)
      }
    }
  }
  if (missing.size === 0) return { coverage, known }
  const ids = [...missing].join(",")
  const found = await conn.runAndReadAll(`SELECT file_id FROM log_files WHERE file_id IN (${ids})`)
  for (const [id] of found.getRows()) known.add(id as bigint)
  const rows = await conn.runAndReadAll(
    `SELECT file_id, start_offset, end_offset FROM log_coverage WHERE file_id IN (${ids}) ORDER BY 1, 2`,
  )
  for (const [id, start, end] of rows.getRows()) {
    let list = coverage.get(id as bigint)
    if (!list) {
      list = []
      coverage.set(id as bigint, list)
    }
    list.push({ start: Number(start), end: Number(end) })
  }
  return { coverage, known }
}
