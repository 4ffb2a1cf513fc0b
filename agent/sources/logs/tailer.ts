import type { LogChunkPart } from "../source.ts"
import { readAt } from "./files.ts"
import type { RuleSet } from "./rules.ts"

/** Where a generation's reader stands: `position` is the next byte to read, always after a newline unless `skipping`. */
export type TailState = {
  fd: number
  position: number
  /** inside a line longer than the cap, already emitted truncated: skip up to its newline */
  skipping: boolean
}

export type TailOptions = {
  chunkBytes: number
  maxLineBytes: number
  /** "match" mode: only matching lines are kept; undefined: "all" mode, whole blocks */
  rules: RuleSet | undefined
}

/** What one read produced: the bytes [startOffset, endOffset) of the file, as parts. */
export type TailRead = { startOffset: number; endOffset: number; lines: number; parts: LogChunkPart[] }

const NEWLINE = 10

/**
 * Most parts made from one read: matched lines, or (in "all" mode) over-long lines. Each is a part of its own in the envelope's manifest (about 60 bytes of
 * JSON), so a chunk of tiny matching lines could otherwise outgrow an envelope or the collector's part bound;
 * the rest of the chunk is simply read next time.
 */
export const MAX_MATCHES_PER_READ = 2048

/**
 * Reads the next chunk after `state.position` from a file of `size` bytes and advances the position.
 * Undefined when no whole line is there yet. `final`: the generation has ended, so a last line without
 * newline counts as a line.
 */
export function readChunk(
  state: TailState,
  size: number,
  final: boolean,
  options: TailOptions,
): TailRead | undefined {
  const available = size - state.position
  if (available <= 0) return undefined
  let length = Math.min(available, options.chunkBytes)
  for (;;) {
    const buf = readAt(state.fd, state.position, length)
    if (buf.length === 0) return undefined
    const read = scan(state, buf, final && buf.length === available, options)
    if (read || buf.length < length) return read
    // a line longer than a chunk: read once more, up to just past the cap, to find its end or truncate it
    const longer = Math.min(available, Math.max(length, options.maxLineBytes + 1))
    if (longer === length) return undefined
    length = longer
  }
}

function scan(state: TailState, buf: Buffer, atEnd: boolean, options: TailOptions): TailRead | undefined {
  const base = state.position
  const parts: LogChunkPart[] = []
  let from = 0
  if (state.skipping) {
    const nl = buf.indexOf(NEWLINE)
    from = nl === -1 ? buf.length : nl + 1
    state.skipping = nl === -1 && !atEnd
  }
  const whole = Math.max(buf.lastIndexOf(NEWLINE) + 1, from)
  let end = whole
  let lines: number
  if (options.rules) {
    const matched = matchedLines(buf, base, from, whole, options.rules, options.maxLineBytes, parts)
    lines = matched.lines
    end = matched.end
  } else {
    const raw = rawLines(buf, base, from, whole, options.maxLineBytes, parts)
    lines = raw.lines
    end = raw.end
  }
  const rest = buf.length - whole
  if (end === whole && (rest > options.maxLineBytes || (rest > 0 && atEnd))) {
    // the last line: too long to wait for its newline, or the file's final line without one
    lines += lastLine(buf, base, whole, options, parts)
    state.skipping = rest > options.maxLineBytes && !atEnd
    end = buf.length
  }
  if (end === 0) return undefined
  state.position = base + end
  return { startOffset: base, endOffset: state.position, lines, parts }
}

/**
 * "all" mode: blocks of whole lines as views of `buf`; only an over-long line becomes its own part. Many over-long
 * lines would make many parts: past MAX_MATCHES_PER_READ the read ends after the line that reached it.
 */
function rawLines(
  buf: Buffer,
  base: number,
  from: number,
  to: number,
  cap: number,
  parts: LogChunkPart[],
): { lines: number; end: number } {
  let lines = 0
  let block = from
  let start = from
  let end = to
  while (start < to) {
    const nl = buf.indexOf(NEWLINE, start)
    if (nl - start > cap) {
      if (start > block) parts.push({ offset: base + block, bytes: buf.subarray(block, start), raw: true })
      parts.push({
        offset: base + start,
        bytes: buf.subarray(start, start + cap),
        raw: false,
        truncated: true,
      })
      block = nl + 1
      if (parts.length >= MAX_MATCHES_PER_READ) {
        lines++
        end = nl + 1
        break
      }
    }
    lines++
    start = nl + 1
  }
  if (end > block) parts.push({ offset: base + block, bytes: buf.subarray(block, end), raw: true })
  return { lines, end }
}

/**
 * "match" mode: each matching line copied out (so the chunk buffer is not held), capped. At most
 * MAX_MATCHES_PER_READ are kept; `end` is then the start of the line after the last one kept.
 */
function matchedLines(
  buf: Buffer,
  base: number,
  from: number,
  to: number,
  rules: RuleSet,
  cap: number,
  parts: LogChunkPart[],
): { lines: number; end: number } {
  if (to <= from) return { lines: 0, end: to }
  let matches = rules.find(buf, from, to)
  let end = to
  if (matches.length > MAX_MATCHES_PER_READ) {
    matches = matches.slice(0, MAX_MATCHES_PER_READ)
    end = Math.min(to, (matches.at(-1) as { end: number }).end + 1)
  }
  for (const m of matches) {
    const long = m.end - m.start > cap
    const bytes = Uint8Array.prototype.slice.call(buf, m.start, long ? m.start + cap : m.end)
    parts.push(
      long
        ? { offset: base + m.start, bytes, raw: false, truncated: true, rule: m.rule }
        : { offset: base + m.start, bytes, raw: false, rule: m.rule },
    )
  }
  return { lines: matches.length, end }
}

function lastLine(
  buf: Buffer,
  base: number,
  start: number,
  options: TailOptions,
  parts: LogChunkPart[],
): number {
  const truncated = buf.length - start > options.maxLineBytes
  const end = truncated ? start + options.maxLineBytes : buf.length
  if (options.rules) {
    // matched on what was read of the line (at least the cap)
    const m = options.rules.find(buf, start, buf.length)[0]
    if (!m) return 0
    const bytes = Uint8Array.prototype.slice.call(buf, start, end)
    parts.push({ offset: base + start, bytes, raw: false, ...(truncated ? { truncated } : {}), rule: m.rule })
    return 1
  }
  parts.push({
    offset: base + start,
    bytes: buf.subarray(start, end),
    raw: false,
    ...(truncated ? { truncated } : {}),
  })
  return 1
}
