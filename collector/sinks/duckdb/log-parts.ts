import { isUtf8 } from "node:buffer"
import { createHash } from "node:crypto"
import type { DecodedLogsBody, LogPart } from "../../../shared/protocol/logs-body.ts"
import { firstEndingAfter, mergeRanges, type Range, uncovered } from "./coverage.ts"

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

/** Parts staged between two yields to the event loop, so one huge envelope cannot stall every other agent. */
export const STAGE_YIELD_EVERY_PARTS = 4096

/** Lets timers, HTTP and NATS callbacks run before continuing a long synchronous stretch. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Stable 64-bit id of a file generation; the same on every collector, so nothing needs coordinating. */
export function fileIdOf(agent: string, gen: string): bigint {
  return createHash("sha256").update(`${agent}\u0000${gen}`).digest().readBigInt64LE(0)
}

const NL = 10
const decoder = new TextDecoder()

/**
 * Turns a decoded logs body into staged parts, keeping only lines whose start offset is neither covered yet nor
 * already staged from this envelope, and merges the envelope's spans and parts into `coverage` (a working copy
 * the caller commits after the transaction). O(n log n) in the envelope's parts, plus one pass over the existing
 * ranges of each file it touches.
 */
export async function stageLogsBody(
  agent: string,
  host: string,
  body: DecodedLogsBody,
  coverage: Map<bigint, Range[]>,
  out: { parts: StagedPart[]; files: StagedFile[] },
  pause: () => Promise<void> = yieldToEventLoop,
): Promise<void> {
  const { manifest, payload } = body
  const fileIds = manifest.files.map((file) => {
    const fileId = fileIdOf(agent, file.gen)
    out.files.push({ fileId, agent, host, path: file.path, gen: file.gen })
    return fileId
  })
  // Parts own consecutive payload slices in manifest order; remember where each starts before sorting.
  const payloadAt: number[] = new Array(manifest.parts.length)
  const partsOf = new Map<bigint, number[]>()
  let at = 0
  manifest.parts.forEach((part, i) => {
    payloadAt[i] = at
    at += part.n
    listOf(partsOf, fileIds[part.f] as bigint).push(i)
  })
  const additions = new Map<bigint, Range[]>()
  for (const span of manifest.spans)
    listOf(additions, fileIds[span.f] as bigint).push({ start: span.s, end: span.e })
  let sinceYield = 0
  for (const [fileId, indices] of partsOf) {
    const covered = coverage.get(fileId) ?? []
    const adds = listOf(additions, fileId)
    const parts = manifest.parts
    indices.sort((a, b) => (parts[a] as LogPart).o - (parts[b] as LogPart).o || a - b)
    // Sorted by offset, every byte this envelope already accounted for in this file lies below `stagedEnd`.
    let stagedEnd = 0
    for (const i of indices) {
      const part = parts[i] as LogPart
      const start = payloadAt[i] as number
      const base = { fileId, truncated: part.t === 1, rule: part.r ?? null, readAt: part.at }
      if (part.raw !== 1) {
        if (part.o >= stagedEnd && !isCovered(covered, part.o)) {
          const text = decoder.decode(payload.subarray(start, start + part.n))
          out.parts.push({ ...base, offset: part.o, raw: false, text })
        }
      } else {
        const bytes = payload.subarray(start, start + part.n)
        for (const range of uncovered(covered, Math.max(part.o, stagedEnd), part.o + part.n)) {
          const from = lineStartAtOrAfter(bytes, range.start - part.o)
          const to = lineStartAtOrAfter(bytes, range.end - part.o)
          if (to > from) stageRaw(bytes.subarray(from, to), part.o + from, base, out.parts)
        }
      }
      const end = part.o + Math.max(part.n, 1)
      if (end > stagedEnd) stagedEnd = end
      adds.push({ start: part.o, end })
      if (++sinceYield >= STAGE_YIELD_EVERY_PARTS) {
        sinceYield = 0
        await pause()
      }
    }
  }
  for (const [fileId, adds] of additions) coverage.set(fileId, mergeRanges(coverage.get(fileId) ?? [], adds))
}

function listOf<T>(map: Map<bigint, T[]>, key: bigint): T[] {
  let list = map.get(key)
  if (!list) {
    list = []
    map.set(key, list)
  }
  return list
}

/** True when `offset` lies inside one of the sorted, merged ranges. */
function isCovered(covered: readonly Range[], offset: number): boolean {
  const r = covered[firstEndingAfter(covered, offset)]
  return r !== undefined && r.start <= offset
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
