import type { LogFileRef, LogPart, LogSpan } from "../../shared/protocol/logs-body.ts"
import { encodeLogsBody } from "../../shared/protocol/logs-body.ts"
import type { LogChunk } from "../sources/source.ts"

/** Packs chunks (possibly from several files) into one logs body; returns it with its line count. */
export function buildLogsBody(chunks: LogChunk[]): { body: Uint8Array; lines: number } {
  const files: LogFileRef[] = []
  const fileIndex = new Map<string, number>()
  const spans: LogSpan[] = []
  const parts: LogPart[] = []
  const payload: Uint8Array[] = []
  let lines = 0
  for (const chunk of chunks) {
    let f = fileIndex.get(chunk.file.gen)
    if (f === undefined) {
      f = files.length
      files.push({ path: chunk.file.path, gen: chunk.file.gen })
      fileIndex.set(chunk.file.gen, f)
    }
    lines += chunk.lines
    const last = spans[spans.length - 1]
    if (last && last.f === f && last.e === chunk.startOffset) last.e = chunk.endOffset
    else spans.push({ f, s: chunk.startOffset, e: chunk.endOffset })
    for (const p of chunk.parts) {
      const part: LogPart = { f, o: p.offset, n: p.bytes.length, at: chunk.readAt }
      if (p.raw) part.raw = 1
      if (p.truncated) part.t = 1
      if (p.rule !== undefined) part.r = p.rule
      parts.push(part)
      payload.push(p.bytes)
    }
  }
  return { body: encodeLogsBody(files, spans, parts, payload), lines }
}

/** A generous estimate of the manifest JSON one part adds (`{"f":0,"o":…,"n":…,"r":"…","at":…}`). */
export const PART_MANIFEST_BYTES = 96

/** Most parts in one envelope: well under the collector's bound (MAX_LOGS_PARTS), whatever max_records says. */
export const MAX_PARTS_PER_ENVELOPE = 50_000

/** Bytes a chunk adds to an envelope: its payload and an estimate of its manifest entries. */
export function chunkBytes(chunk: LogChunk): number {
  let n = 0
  for (const p of chunk.parts) n += p.bytes.length + PART_MANIFEST_BYTES
  return n
}
