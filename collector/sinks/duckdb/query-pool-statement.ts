import {
  type DuckDBConnection,
  type DuckDBPreparedStatement,
  DuckDBTypeId,
  StatementType,
} from "@duckdb/node-api"
import { duckDbMessage, QueryError } from "./query-pool-error.ts"

/** Runs one call into DuckDB's native code for the query (answered at once when the query is aborted). */
export type NativeCall = <T>(call: () => Promise<T>) => Promise<T>

/** A statement that passed the check, ready to start. */
export type CheckedStatement = {
  /** what runs: for a query, the user's statement wrapped so that long values are cut inside DuckDB */
  prepared: DuckDBPreparedStatement
  /** output column names, duplicates numbered (`a`, `a:1`) */
  columns: string[]
  kind: "query" | "explain"
  /** the wrapped SQL text of a query (what EXPLAIN explains) */
  sql?: string
}

const ALLOWED =
  "only one query (SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, PIVOT/UNPIVOT) or EXPLAIN is allowed"

/** Types whose values have a small fixed size: returned as they are. */
const FIXED_SIZE = new Set<DuckDBTypeId>([
  DuckDBTypeId.BOOLEAN,
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.DECIMAL,
  DuckDBTypeId.DATE,
  DuckDBTypeId.TIME,
  DuckDBTypeId.TIME_NS,
  DuckDBTypeId.TIME_TZ,
  DuckDBTypeId.TIMESTAMP,
  DuckDBTypeId.TIMESTAMP_S,
  DuckDBTypeId.TIMESTAMP_MS,
  DuckDBTypeId.TIMESTAMP_NS,
  DuckDBTypeId.TIMESTAMP_TZ,
  DuckDBTypeId.INTERVAL,
  DuckDBTypeId.UUID,
  DuckDBTypeId.ENUM,
  DuckDBTypeId.SQLNULL,
])

/**
 * Checks `sql` with DuckDB's own parser and binder: exactly one statement, of type SELECT (which is also what
 * WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW and SUMMARIZE become) or EXPLAIN, without parameters. A query is
 * then wrapped as `SELECT <cut columns> FROM query('<sql>')`: `query()` parses the text again and accepts
 * exactly one SELECT statement (so PRAGMA, which binds as a SELECT, is refused), and since the text is
 * passed as a string literal a trailing `;` or `--` comment cannot escape the wrapper.
 */
export async function checkStatement(
  conn: DuckDBConnection,
  sql: string,
  options: { maxValueChars: number; native: NativeCall },
): Promise<CheckedStatement> {
  const { native } = options
  if (sql.trim() === "") throw new QueryError("not_allowed", "q is empty")
  const extracted = await native(() => conn.extractStatements(sql)).catch((error) => {
    // DuckDB reports "no statement at all" (only comments) without a message of its own.
    const message = duckDbMessage(error)
    throw message.includes("native callback")
      ? new QueryError("not_allowed", "q holds no SQL statement")
      : new QueryError("invalid", message, { cause: error })
  })
  if (extracted.count !== 1) {
    throw new QueryError("not_allowed", `${ALLOWED}; q holds ${extracted.count} statements`)
  }
  const original = await native(() => extracted.prepare(0)).catch((error) => {
    throw new QueryError("invalid", duckDbMessage(error), { cause: error })
  })
  const type = original.statementType
  const columns = dedupe(Array.from({ length: original.columnCount }, (_, i) => original.columnName(i)))
  try {
    if (type !== StatementType.SELECT && type !== StatementType.EXPLAIN) {
      throw new QueryError("not_allowed", `${ALLOWED}; q is ${StatementType[type] ?? `type ${type}`}`)
    }
    if (original.parameterCount > 0) {
      throw new QueryError("not_allowed", "q has parameters ($1, ?); put the values in the SQL text")
    }
  } catch (error) {
    original.destroySync()
    throw error
  }
  if (type === StatementType.EXPLAIN) {
    original.destroySync()
    return await checkExplain(conn, sql, options)
  }
  const wrapped = wrapQuery(sql, original, options.maxValueChars)
  original.destroySync()
  const prepared = await native(() => conn.prepare(wrapped)).catch((error) => {
    const message = duckDbMessage(error)
    throw message.includes("Expected a single SELECT statement")
      ? new QueryError(
          "not_allowed",
          `${ALLOWED}; PRAGMA is not (query its table function instead, e.g. SELECT * FROM pragma_version())`,
        )
      : new QueryError("invalid", message, { cause: error })
  })
  return { prepared, columns, kind: "query", sql: wrapped }
}

/**
 * `SELECT <cut c0>, <cut c1>... FROM query('<sql>') AS q(c0, c1...)`. Values of variable size are cut to
 * `maxChars` characters inside DuckDB, so a huge string or list never reaches JavaScript whole; nested values
 * (lists, structs, maps, blobs...) become their DuckDB text form, a list sliced first so that casting a
 * 100-million-element list does not build its whole text.
 */
function wrapQuery(sql: string, prepared: DuckDBPreparedStatement, maxChars: number): string {
  const count = prepared.columnCount
  const alias = Array.from({ length: count }, (_, i) => `c${i}`)
  const select = alias.map((c, i) => {
    const id = prepared.columnTypeId(i)
    if (FIXED_SIZE.has(id)) return c
    if (id === DuckDBTypeId.VARCHAR) return `left(${c}, ${maxChars})`
    // Each element of a list's text takes at least 3 characters ("x, "), so this many are enough.
    if (id === DuckDBTypeId.LIST)
      return `left(CAST(${c}[1:${Math.floor(maxChars / 3) + 1}] AS VARCHAR), ${maxChars})`
    return `left(CAST(${c} AS VARCHAR), ${maxChars})`
  })
  const literal = `'${sql.replaceAll("'", "''")}'`
  return count === 0
    ? `SELECT * FROM query(${literal})`
    : `SELECT ${select.join(", ")} FROM query(${literal}) AS q(${alias.join(", ")})`
}

/** Numbers repeated names the way @duckdb/node-api does (`a`, `a:1`), so that no column is lost in JSON. */
function dedupe(names: string[]): string[] {
  const seen = new Map<string, number>()
  return names.map((name) => {
    const n = seen.get(name) ?? 0
    seen.set(name, n + 1)
    return n === 0 ? name : `${name}:${n}`
  })
}

const EXPLAIN_PREFIX = /^\s*explain\s+(analy[sz]e\b)?/i

/**
 * EXPLAIN only of a statement that passes on its own: `EXPLAIN ANALYZE` executes what it explains (e.g.
 * `EXPLAIN ANALYZE SET GLOBAL memory_limit = '1MB'` would starve the writer), so it is refused, and the explained
 * statement must itself be an allowed SELECT. It is explained in its wrapped form, which is what would run.
 */
async function checkExplain(
  conn: DuckDBConnection,
  sql: string,
  options: { maxValueChars: number; native: NativeCall },
): Promise<CheckedStatement> {
  const head = EXPLAIN_PREFIX.exec(sql)
  if (!head) throw new QueryError("not_allowed", "EXPLAIN must come first in q (no comment before it)")
  if (head[1]) throw new QueryError("not_allowed", "EXPLAIN ANALYZE runs the statement; use EXPLAIN")
  const inner = await checkStatement(conn, sql.slice(head[0].length), options)
  const innerSql = inner.sql
  inner.prepared.destroySync()
  if (inner.kind !== "query" || innerSql === undefined)
    throw new QueryError("not_allowed", "EXPLAIN of an EXPLAIN is not allowed")
  const prepared = await options
    .native(() => conn.prepare(`EXPLAIN ${innerSql}`))
    .catch((error) => {
      throw new QueryError("invalid", duckDbMessage(error), { cause: error })
    })
  const columns = dedupe(Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnName(i)))
  return { prepared, columns, kind: "explain" }
}
