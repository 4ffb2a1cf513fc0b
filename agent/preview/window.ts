import { fstatFile, readAt } from "../sources/logs/files.ts"

/** Most bytes shown before the matched line. */
export const WINDOW_BEFORE_BYTES = 4096
/** Most bytes shown after the matched line (after its newline). */
export const WINDOW_AFTER_BYTES = 4096
/** Most bytes shown of the matched line itself; a longer one is cut and said to be. */
export const MATCHED_LINE_MAX_BYTES = 4096

/** One line of the window: `offset` is where it starts in the file, `cut` that only part of it is shown. */
export type WindowLine = { offset: number; text: string; matched: boolean; cut: boolean }

export type PreviewWindow =
  | {
      found: true
      lines: WindowLine[]
      /** file bytes [start, end) are shown */
      start: number
      end: number
      size: number
      /** the matched line is longer than MATCHED_LINE_MAX_BYTES; nothing after it is shown */
      matchedTruncated: boolean
      /** the line at the offset ends before the collector's `line_end`: the file was rewritten since */
      lineEndMismatch: boolean
    }
  /** the file is now shorter than the offset: it was truncated below it */
  | { found: false; size: number }

const NL = 10
const decoder = new TextDecoder() // not fatal: invalid UTF-8 becomes U+FFFD

/**
 * The matched line, which starts at `offset`, with up to 4 KiB of the file before and after it, trimmed to
 * whole lines where a newline allows (a lone over-long line at an edge is shown cut). `lineEnd` (the
 * collector's end of the line, if the link carries it) only serves to notice a file rewritten in place.
 */
export function readWindow(fd: number, offset: number, opts: { lineEnd?: number } = {}): PreviewWindow {
  const size = fstatFile(fd).size
  if (offset >= size) return { found: false, size }
  // one byte more before the window: it tells whether the window starts on a line boundary
  const from = Math.max(0, offset - WINDOW_BEFORE_BYTES - 1)
  const buf = readAt(
    fd,
    from,
    Math.min(size, offset + MATCHED_LINE_MAX_BYTES + 1 + WINDOW_AFTER_BYTES) - from,
  )
  const rel = offset - from
  if (buf.length <= rel) return { found: false, size: from + buf.length } // shrank since the stat
  const atEof = from + buf.length >= size
  const lines: WindowLine[] = []
  const push = (start: number, end: number, matched: boolean, cut: boolean) =>
    lines.push({ offset: from + start, text: text(buf, start, end), matched, cut })

  // before: drop the partial first line unless it is all there is
  let start = Math.max(0, offset - WINDOW_BEFORE_BYTES) - from
  let firstCut = false
  if (from + start > 0 && buf[start - 1] !== NL) {
    const nl = buf.indexOf(NL, start)
    if (nl !== -1 && nl < rel - 1) start = nl + 1
    else [firstCut, start] = [true, alignForward(buf, start, rel)]
  }
  for (let pos = start; pos < rel; ) {
    const nl = buf.indexOf(NL, pos)
    const end = nl === -1 || nl >= rel ? rel : nl
    // a line without its newline before the offset: the offset lies inside it (the file changed since)
    push(pos, end, false, (pos === start && firstCut) || end === rel)
    pos = end + 1
  }

  // the matched line, capped
  const nl = buf.indexOf(NL, rel)
  let lineEnd: number
  let end: number
  let truncated = false
  if (nl !== -1 && nl <= rel + MATCHED_LINE_MAX_BYTES) [lineEnd, end] = [nl, nl + 1]
  else if (atEof && buf.length - rel <= MATCHED_LINE_MAX_BYTES) [lineEnd, end] = [buf.length, buf.length]
  else {
    truncated = true
    lineEnd = end = alignBack(buf, rel + MATCHED_LINE_MAX_BYTES, rel)
  }
  push(rel, lineEnd, true, truncated)

  // after: whole lines only, unless the window reaches the end of the file or holds a single long line
  if (!truncated && end < buf.length) {
    const limit = Math.min(buf.length, end + WINDOW_AFTER_BYTES)
    let stop = limit
    let lastCut = false
    if (!(atEof && limit === buf.length)) {
      const last = buf.lastIndexOf(NL, limit - 1)
      if (last >= end) stop = last + 1
      else [lastCut, stop] = [true, alignBack(buf, limit, end)]
    }
    for (let pos = end; pos < stop; ) {
      const next = buf.indexOf(NL, pos)
      const lineStop = next === -1 || next >= stop ? stop : next
      push(pos, lineStop, false, lineStop === stop && lastCut)
      pos = lineStop + 1
    }
    end = stop
  }
  return {
    found: true,
    lines,
    start: from + start,
    end: from + end,
    size,
    matchedTruncated: truncated,
    lineEndMismatch: opts.lineEnd !== undefined && !truncated && from + lineEnd < opts.lineEnd,
  }
}

/** Decoded line, without the "\r" of a CRLF file (a browser would show it as a line break). */
function text(buf: Buffer, start: number, end: number): string {
  const stop = end > start && buf[end - 1] === 13 ? end - 1 : end
  return decoder.decode(buf.subarray(start, stop))
}

const continuation = (b: number | undefined) => b !== undefined && (b & 0xc0) === 0x80

/** Moves a cut forward past the rest of a UTF-8 character (at most 3 bytes), so it shows no U+FFFD. */
function alignForward(buf: Buffer, at: number, max: number): number {
  let i = at
  while (i < max && i - at < 3 && continuation(buf[i])) i++
  return continuation(buf[i]) ? at : i
}

/** Moves a cut back to the start of the UTF-8 character it falls in (at most 3 bytes). */
function alignBack(buf: Buffer, at: number, min: number): number {
  let i = at
  while (i > min && at - i < 3 && continuation(buf[i])) i--
  return continuation(buf[i]) ? at : i
}
