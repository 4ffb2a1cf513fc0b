import type { ReceivedEnvelope, RejectReason } from "../../../shared/protocol/envelope.ts"
import type { DecodedLogsBody } from "../../../shared/protocol/logs-body.ts"

/** A verified envelope and its decoded body. */
export type AcceptedEnvelope = {
  meta: ReceivedEnvelope
  streamSeq: number
  bytes: number
  logs?: DecodedLogsBody
}

/** A rejected message, recorded in `processing_errors`. */
export type RejectedEnvelope = {
  reason: RejectReason
  message: string
  subject: string
  agent?: string
  headers: Record<string, string>
  size: number
  streamSeq?: number
}

export type WriteBatch = { accepted: AcceptedEnvelope[]; rejected: RejectedEnvelope[]; receivedAt: number }
export type WriteResult = { linesWritten: number; durationMs: number }
