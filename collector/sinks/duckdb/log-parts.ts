import { isUtf8 } from "node:buffer"
import { createHash } from "node:crypto"
import type { DecodedLogsBody } from "../../../shared/protocol/logs-body.ts"
import { addRange, type Range, uncovered } from "./coverage.ts"

/** A row of `log_stage`: a raw block (split by DuckDB) or one line. */
export type StagedPart = {
  fileId: bigint
  offset: number
  raw: boolean
  /** raw: valid UTF-8 lines joined by "\n", without the final newline */
  block?: Uint8Array
  /** line: decoded text */
  text?: string
  truncated: boolean
  rule: string | null
  readAt: number
}

export type StagedFile = { fileId: bigint; agent: string; host: string; path: string; gen: string }

/** Stable 64-bit id of a file generation; the same on every collector, so nothing needs coordinating. */
export function fileIdOf(agent: string, gen: string): bigint {
  return createHash("sha256").update(`${agent}\u0000${gen}`).digest().readBigInt64LE(0)
}

const NL = 10
const decoder = new TextDecoder()

/**
 * Turns a decoded logs body into staged parts, keeping only lines whose start offset is not yet covered,
 * and records the envelope's spans in `coverage` (a working copy the caller commits after the transaction).
 */
export function stageLogsBody(
  agent: string,
  host: string,
  body: DecodedLogsBody,
  coverage: Map<bigint, Range[]>,
  out: { parts: StagedPart[]; files: StagedFile[] },
): void {
  const { manifest, payload } = body
  const fileIds = manifest.files.map((file) => {
    const fileId = fileIdOf(agent, file.gen)
    out.files.push({ fileId, agent, host, path: file.path, gen: file.gen })
    return fileId
  })
  const before = new Map<bigint, Range[]>()
  for (const id of fileIds) if (!before.has(id)) before.set(id, coverage.get(id) ?? [])
  let at = 0
  for (const part of manifest.parts) {
    const bytes = payload.subarray(at, at + part.n)
    at += part.n
    const fileId = fileIds[part.f] as bigint
    const covered = before.get(fileId) ?? []
    const base = { fileId, truncated: part.t === 1, rule: part.r ?? null, readAt: part.at }
    if (part.raw !== 1) {
      if (uncovered(covered, part.o, part.o + 1).length > 0) {
        out.parts.push({ ...base, offset: part.o, raw: false, text: decoder.decode(bytes) })
      }
      continue
    }
    for (const range of uncovered(covered, part.o, part.o + part.n)) {
      const start = lineStartAtOrAfter(bytes, range.start - part.o)
      const end = lineStartAtOrAfter(bytes, range.end - part.o)
      if (end > start) stageRaw(bytes.subarray(start, end), part.o + start, base, out.parts)
    }
  }
  for (const span of manifest.spans) {
    const fileId = fileIds[span.f] as bigint
    coverage.set(fileId, addRange(coverage.get(fileId) ?? [], span.s, span.e))
  }
  for (const part of manifest.parts) {
    const fileId = fileIds[part.f] as bigint
    coverage.set(fileId, addRange(coverage.get(fileId) ?? [], part.o, part.o + Math.max(part.n, 1)))
  }
}

/** Index of the first line start at or after `i` (a line starts at 0 or right after a newline). */
function lineStartAtOrAfter(bytes: Uint8Array, i: number): number {
  if (i <= 0) return 0
  if (i >= bytes.length) return bytes.length
  if (bytes[i - 1] === NL) return i
  const nl = bytes.indexOf(NL, i)
  return nl < 0 ? bytes.length : nl + 1
}

function stageRaw(
  block: Uint8Array,
  offset: number,
  base: Omit<StagedPart, "offset" | "raw">,
  parts: StagedPart[],
): void {
  // A raw block ends with a newline; DuckDB's split would add an empty last line.
  const body = block[block.length - 1] === NL ? block.subarray(0, block.length - 1) : block
  if (isUtf8(body)) {
    parts.push({ ...base, offset, raw: true, block: body })
    return
  }
  // Invalid UTF-8: split here so each line keeps its true byte offset, bad bytes become U+FFFD.
  let start = 0
  while (start <= body.length) {
    const nl = body.indexOf(NL, start)
    const end = nl < 0 ? body.length : nl
    parts.push({
      ...base,
      offset: offset + start,
      raw: false,
      text: decoder.decode(body.subarray(start, end)),
    })
    if (nl < 0) break
    start = nl + 1
  }
}
