import { EnvelopeError } from "../../shared/errors.ts"
import { decodeEntriesBody } from "../../shared/protocol/entries-body.ts"
import {
  HEADER,
  parseEnvelopeHeaders,
  type RejectReason,
  verifyEnvelope,
} from "../../shared/protocol/envelope.ts"
import { decodeLogsBody } from "../../shared/protocol/logs-body.ts"
import { entryKind } from "../kinds/registry.ts"
import type { AcceptedEnvelope, RejectedEnvelope } from "../sinks/duckdb/types.ts"
import type { Enrollment } from "./enrollment.ts"

/** What ingest needs of a JetStream message. */
export type IncomingMessage = {
  subject: string
  headers: Record<string, string>
  data: Uint8Array
  streamSeq: number
  redelivered: boolean
}

export type Verdict =
  | { type: "accept"; envelope: AcceptedEnvelope }
  | { type: "reject"; rejected: RejectedEnvelope }
  | { type: "duplicate"; agent: string; seq: number }

export type VerifyContext = {
  enrollment: Enrollment
  maxEnvelopeBytes: number
  /** stream sequence of the committed envelope (agent, seq), or undefined */
  committedStreamSeq(agent: string, seq: number): number | undefined
  /** ids accepted earlier in the same batch */
  batchIds: Set<string>
}

/** Parses, authenticates and decodes one message; never throws for bad input, it returns a rejection instead. */
export function judgeMessage(msg: IncomingMessage, ctx: VerifyContext): Verdict {
  const reject = (reason: RejectReason, message: string): Verdict => ({
    type: "reject",
    rejected: {
      reason,
      message,
      subject: msg.subject,
      agent: msg.headers[HEADER.agent],
      headers: msg.headers,
      size: msg.data.length,
      streamSeq: msg.streamSeq,
    },
  })
  try {
    const meta = parseEnvelopeHeaders((name) => msg.headers[name], msg.subject)
    const keys = ctx.enrollment.get(meta.agent)
    if (!keys) return reject("unknown_agent", `agent '${meta.agent}' is not enrolled (envelope ${meta.id})`)
    const key = keys.get(meta.keyId)
    if (!key) return reject("unknown_key", `key ${meta.keyId} is not enrolled for agent '${meta.agent}'`)
    verifyEnvelope(meta, msg.data, key)
    // After the signature: only a genuine envelope is held in the quarantine for a raised limit.
    if (msg.data.length > ctx.maxEnvelopeBytes) {
      return reject(
        "oversized",
        `envelope ${meta.id} has ${msg.data.length} bytes, more than max_envelope_bytes ${ctx.maxEnvelopeBytes}`,
      )
    }
    const batchKey = `${meta.agent}.${meta.seq}`
    const committedAt = ctx.committedStreamSeq(meta.agent, meta.seq)
    if (committedAt !== undefined || ctx.batchIds.has(batchKey)) {
      // The same stream message again (redelivery, even if its delivery count was lost) is a harmless duplicate.
      if (msg.redelivered || committedAt === msg.streamSeq)
        return { type: "duplicate", agent: meta.agent, seq: meta.seq }
      return reject("replayed", `envelope ${meta.id} from agent '${meta.agent}' was already received`)
    }
    const envelope: AcceptedEnvelope = { meta, streamSeq: msg.streamSeq, bytes: msg.data.length }
    let held: number
    let unit: string
    if (meta.kind === "logs") {
      envelope.logs = decodeLogsBody(msg.data)
      held = envelope.logs.lines
      unit = "lines"
    } else {
      const kind = entryKind(meta.kind)
      // Accepting a body nobody can read would ack data into the void and count records that do not exist.
      if (!kind)
        return reject(
          "unsupported_kind",
          `kind '${meta.kind}' is not stored by this collector (envelope ${meta.id})`,
        )
      envelope.entries = decodeEntriesBody(msg.data, kind.check)
      held = envelope.entries.entries.length
      unit = "entries"
    }
    if (held !== meta.count) {
      return reject(
        "bad_body",
        `envelope ${meta.id} from agent '${meta.agent}' says ${HEADER.count} ${meta.count} but its body holds ${held} ${unit}`,
      )
    }
    ctx.batchIds.add(batchKey)
    return { type: "accept", envelope }
  } catch (error) {
    if (error instanceof EnvelopeError) return reject(error.code as RejectReason, error.message)
    if (msg.data.length > ctx.maxEnvelopeBytes)
      return reject("oversized", `message has ${msg.data.length} bytes`)
    return reject("malformed", (error as Error).message)
  }
}
