import type { AcceptedEnvelope } from "../sinks/duckdb/types.ts"
import type { AlertSignal } from "./types.ts"

const decoder = new TextDecoder() // lossy: a line with invalid UTF-8 is still an alert

/** Lines of a log match as they are stored: agent, file, generation, offset, the rule they matched. */
export type LogMatch = {
  agent: string
  host: string
  file: string
  gen: string
  offset: number
  rule: string
  text: string
  /** bytes of the line, newline excluded */
  bytes: number
}

/**
 * The matched lines of committed `logs` envelopes: the single-line parts the agent tagged with the rule they
 * matched (`r`). Order: envelope, then part.
 */
export function matchedLines(accepted: readonly AcceptedEnvelope[]): LogMatch[] {
  const out: LogMatch[] = []
  for (const e of accepted) {
    const body = e.logs
    if (!body) continue
    let at = 0
    for (const part of body.manifest.parts) {
      const start = at
      at += part.n
      if (part.r === undefined || part.raw) continue
      const file = body.manifest.files[part.f]
      if (!file) continue
      const text = decoder.decode(body.payload.subarray(start, start + part.n)).replace(/\r?\n$/, "")
      out.push({
        agent: e.meta.agent,
        host: e.meta.host,
        file: file.path,
        gen: file.gen,
        offset: part.o,
        rule: part.r,
        text,
        bytes: part.n,
      })
    }
  }
  return out
}

/** A log match as the signal the engine groups: one occurrence of the `log_match` kind of alert. */
export function logMatchSignal(m: LogMatch, at: number): AlertSignal {
  return {
    rule: "log_match",
    labels: { agent: m.agent, host: m.host, file: m.file, rule: m.rule },
    kind: "event",
    status: "firing",
    at,
    line: {
      text: m.text,
      agent: m.agent,
      file: m.file,
      gen: m.gen,
      offset: m.offset,
      end: m.offset + m.bytes,
      at,
    },
  }
}

/**
 * Remembers the last `max` matches by (agent, gen, offset): a line the agent shipped again (re-read after a crash,
 * stored once by the writer) raises no second alert.
 */
export class SeenMatches {
  private readonly seen = new Set<string>()

  constructor(private readonly max = 100_000) {}

  /** true the first time a line is seen */
  first(m: LogMatch): boolean {
    const key = `${m.agent}\0${m.gen}\0${m.offset}`
    if (this.seen.has(key)) return false
    this.seen.add(key)
    if (this.seen.size > this.max) this.seen.delete(this.seen.values().next().value as string)
    return true
  }
}
