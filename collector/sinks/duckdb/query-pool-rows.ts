import type { DuckDBDataChunk, DuckDBValue } from "@duckdb/node-api"

/** Which cap cut a result short. */
export type TruncatedReason = "rows" | "bytes"

/** Rows as JSON object texts, ready to be joined into a response. */
export type CollectedRows = {
  rows: string[]
  /** UTF-8 bytes of the rows joined with commas */
  bytes: number
  truncated: TruncatedReason | null
}

/**
 * Turns result chunks into JSON rows, one value at a time, until `maxRows` rows or `maxBytes` bytes: a value
 * is converted only while there is room for it, so a chunk of 2048 huge values never becomes 2048 huge
 * JavaScript strings.
 */
export class RowCollector {
  private readonly rows: string[] = []
  private bytes = 0
  private truncated: TruncatedReason | null = null
  private readonly keys: string[]

  constructor(
    columns: readonly string[],
    private readonly maxRows: number,
    private readonly maxBytes: number,
  ) {
    this.keys = columns.map((name) => `${JSON.stringify(name)}:`)
  }

  /** Adds the chunk's rows; false once a cap is reached (fetch no more). */
  add(chunk: DuckDBDataChunk): boolean {
    const vectors = this.keys.map((_, c) => chunk.getColumnVector(c))
    for (let r = 0; r < chunk.rowCount; r++) {
      if (this.rows.length >= this.maxRows) return this.stop("rows")
      const comma = this.rows.length > 0 ? 1 : 0
      const room = this.maxBytes - this.bytes - comma
      let text = "{"
      for (let c = 0; c < vectors.length; c++) {
        const value = jsonValue(vectors[c]?.getItem(r) ?? null)
        // A string's UTF-16 length never exceeds its UTF-8 size, so this is over for sure.
        if (typeof value === "string" && value.length > room) return this.stop("bytes")
        text += `${c > 0 ? "," : ""}${this.keys[c]}${JSON.stringify(value)}`
        if (text.length > room) return this.stop("bytes")
      }
      text += "}"
      const size = Buffer.byteLength(text)
      if (size > room) return this.stop("bytes")
      this.rows.push(text)
      this.bytes += size + comma
    }
    return true
  }

  /** What was collected so far. */
  result(): CollectedRows {
    return { rows: this.rows, bytes: this.bytes, truncated: this.truncated }
  }

  private stop(reason: TruncatedReason): false {
    this.truncated = reason
    return false
  }
}

/** JSON-friendly value: integers as numbers when they fit, times, decimals and the like as their text form. */
export function jsonValue(value: DuckDBValue | undefined): string | number | boolean | null {
  if (value === null || value === undefined) return null
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : String(value)
  }
  if (typeof value === "object") return String(value)
  return value
}
