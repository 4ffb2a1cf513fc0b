import type { JsMsg } from "@nats-io/jetstream"
import { safeText } from "../../shared/log-text.ts"
import type { IncomingMessage } from "./verify.ts"

/** Most headers of one message that are kept for verification and recorded with a rejection. */
export const MAX_HEADERS = 32
/** Longest header name or value kept; a real envelope's longest value (the signature) has 88 characters. */
export const MAX_HEADER_CHARS = 512
/** Cap on the recorded headers of a rejected message, as JSON text. */
export const MAX_RECORDED_HEADERS_CHARS = 4096

/**
 * What ingest needs of a JetStream message. Headers are capped here, at the boundary: a hostile publisher can
 * send tens of kilobytes of them, and nothing downstream (verification, `processing_errors`, the log) needs more
 * than a real envelope has. A cut value can no longer verify, so capping never lets a bad envelope through.
 */
export function toIncoming(m: JsMsg, streamSeq = m.info.streamSequence): IncomingMessage {
  const headers: Record<string, string> = {}
  let kept = 0
  if (m.headers) {
    for (const key of m.headers.keys()) {
      if (kept++ >= MAX_HEADERS) break
      headers[key.slice(0, MAX_HEADER_CHARS)] = m.headers.get(key).slice(0, MAX_HEADER_CHARS)
    }
  }
  return { subject: m.subject, headers, data: m.data, streamSeq, redelivered: m.redelivered }
}

/** Headers as recorded in `processing_errors`: control characters escaped, the whole JSON text bounded. */
export function recordedHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  let size = 2
  for (const [key, value] of Object.entries(headers)) {
    const k = safeText(key, 64)
    const v = safeText(value, 256)
    size += k.length + v.length + 6
    if (size > MAX_RECORDED_HEADERS_CHARS) {
      out["…"] = "more headers were cut"
      break
    }
    out[k] = v
  }
  return out
}
