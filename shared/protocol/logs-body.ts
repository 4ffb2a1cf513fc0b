import { EnvelopeError } from "../errors.ts"

/**
 * Body of a `logs` envelope (format version 1):
 *   u32 little-endian manifest length | manifest JSON (UTF-8) | payload bytes
 * The manifest lists the files (path + generation), the spans (file byte ranges this envelope accounts for,
 * including lines that were read but not shipped) and the parts; each part owns the next `n` payload bytes.
 * A raw part is a block of whole lines, each ending in "\n", starting at file offset `o`: the collector splits it.
 * A line part is one line without its newline (`t` marks it truncated), optionally with the rule it matched.
 */
export const LOGS_BODY_VERSION = 1

/** Most parts one logs body may carry; more is `bad_body` (staging cost grows with parts, not bytes). */
export const MAX_LOGS_PARTS = 100_000
/** Most files one logs body may name; each becomes a `log_files` row and a cached coverage list. */
export const MAX_LOGS_FILES = 1_000
/** Most spans one logs body may carry. */
export const MAX_LOGS_SPANS = 100_000

/** One generation of one log file: `gen` changes when the file is replaced or truncated. */
export type LogFileRef = { path: string; gen: string }

export type LogPart = {
  /** index into `files` */
  f: number
  /** byte offset in the file of the first line */
  o: number
  /** payload bytes of this part */
  n: number
  /** 1: block of whole newline-terminated lines; absent: a single line */
  raw?: 1
  /** 1: the line was longer than the agent's cap and was cut */
  t?: 1
  /** name of the rule the line matched */
  r?: string
  /** when the agent read it, ms since the epoch */
  at: number
}

/** File byte range [s, e) the agent read and accounts for in this envelope (matched or not). */
export type LogSpan = { f: number; s: number; e: number }

export type LogsManifest = { v: number; files: LogFileRef[]; spans: LogSpan[]; parts: LogPart[] }

export type DecodedLogsBody = {
  manifest: LogsManifest
  payload: Uint8Array
  /** lines the body holds: newlines in raw parts plus one per line part; must equal `Outpost-Count` */
  lines: number
}

const encoder = new TextEncoder()

/** Assembles a body from a manifest and the payload chunks of its parts, in order. */
export function encodeLogsBody(
  files: LogFileRef[],
  spans: LogSpan[],
  parts: LogPart[],
  chunks: Uint8Array[],
): Uint8Array {
  const manifest = encoder.encode(
    JSON.stringify({ v: LOGS_BODY_VERSION, files, spans, parts } satisfies LogsManifest),
  )
  let payloadBytes = 0
  for (const chunk of chunks) payloadBytes += chunk.length
  const body = new Uint8Array(4 + manifest.length + payloadBytes)
  new DataView(body.buffer).setUint32(0, manifest.length, true)
  body.set(manifest, 4)
  let at = 4 + manifest.length
  for (const chunk of chunks) {
    body.set(chunk, at)
    at += chunk.length
  }
  return body
}

/**
 * Splits a body into manifest and payload, checking the bounds above, that the parts account for every payload
 * byte and that each raw part ends in a newline; counts the lines on the way.
 */
export function decodeLogsBody(body: Uint8Array): DecodedLogsBody {
  if (body.length < 4) throw new EnvelopeError("bad_body", "logs body is shorter than its length prefix")
  const manifestLength = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0, true)
  if (4 + manifestLength > body.length)
    throw new EnvelopeError("bad_body", "logs manifest length exceeds the body")
  let manifest: LogsManifest
  try {
    manifest = JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + manifestLength)))
  } catch (cause) {
    throw new EnvelopeError("bad_body", "logs manifest is not valid JSON", { cause })
  }
  checkManifest(manifest)
  const payload = body.subarray(4 + manifestLength)
  let total = 0
  for (const part of manifest.parts) total += part.n
  if (total !== payload.length) {
    throw new EnvelopeError(
      "bad_body",
      `logs parts cover ${total} bytes but the payload has ${payload.length}`,
    )
  }
  return { manifest, payload, lines: countLines(manifest.parts, payload) }
}

/** Newlines in raw parts plus one per line part; a raw part that does not end in "\n" is `bad_body`. */
function countLines(parts: readonly LogPart[], payload: Uint8Array): number {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
  let lines = 0
  let at = 0
  parts.forEach((part, i) => {
    const end = at + part.n
    if (part.raw !== 1) lines++
    else if (bytes[end - 1] !== NL) {
      throw new EnvelopeError("bad_body", `logs part ${i} is raw but does not end in a newline`)
    } else {
      // The part's last byte is a newline, so no search runs past it.
      for (let nl = bytes.indexOf(NL, at); nl < end - 1; nl = bytes.indexOf(NL, nl + 1)) lines++
      lines++
    }
    at = end
  })
  return lines
}

const NL = 10

const isUint = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0

function checkManifest(m: LogsManifest): void {
  const bad = (what: string) => new EnvelopeError("bad_body", `logs manifest: ${what}`)
  if (typeof m !== "object" || m === null) throw bad("not an object")
  if (m.v !== LOGS_BODY_VERSION) throw bad(`version ${String(m.v)} is not supported`)
  if (!Array.isArray(m.files) || !Array.isArray(m.parts) || !Array.isArray(m.spans)) {
    throw bad("files, spans and parts must be arrays")
  }
  const over = (what: string, n: number, max: number) => bad(`${n} ${what}, more than the ${max} allowed`)
  if (m.files.length > MAX_LOGS_FILES) throw over("files", m.files.length, MAX_LOGS_FILES)
  if (m.spans.length > MAX_LOGS_SPANS) throw over("spans", m.spans.length, MAX_LOGS_SPANS)
  if (m.parts.length > MAX_LOGS_PARTS) throw over("parts", m.parts.length, MAX_LOGS_PARTS)
  for (const file of m.files) {
    if (typeof file?.path !== "string" || typeof file.gen !== "string")
      throw bad("each file needs path and gen strings")
  }
  for (const span of m.spans) {
    if (!isUint(span?.f) || span.f >= m.files.length) throw bad("span refers to an unknown file")
    if (!isUint(span.s) || !isUint(span.e) || span.e < span.s)
      throw bad("span bounds must be unsigned integers with s <= e")
  }
  for (const part of m.parts) {
    if (!isUint(part?.f) || part.f >= m.files.length) throw bad("part refers to an unknown file")
    if (!isUint(part.o) || !isUint(part.n) || !isUint(part.at))
      throw bad("part offsets, sizes and times must be unsigned integers")
    if (part.r !== undefined && typeof part.r !== "string") throw bad("part rule must be a string")
    if (part.raw === 1 && part.n === 0) throw bad("a raw part must hold at least one line")
  }
}
