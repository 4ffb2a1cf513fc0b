import type { EntriesBody, EntryBase } from "../../../shared/protocol/entries-body.ts"
import type { ReceivedEnvelope, RejectReason } from "../../../shared/protocol/envelope.ts"
import type { DecodedLogsBody } from "../../../shared/protocol/logs-body.ts"

/** A verified envelope and its decoded body. */
export type AcceptedEnvelope = {
  meta: ReceivedEnvelope
  streamSeq: number
  bytes: number
  logs?: DecodedLogsBody
  /** the body of an outbox kind (urls, ...) */
  entries?: EntriesBody<EntryBase>
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
export type WriteResult = {
  linesWritten: number
  /** rows written per outbox kind (new entries only) */
  entriesWritten: Partial<Record<string, number>>
  /** entries agents reported dropped by their bounded outbox, per kind */
  entriesDropped: Partial<Record<string, number>>
  durationMs: number
}
