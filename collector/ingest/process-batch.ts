import type { NatsConnection } from "@nats-io/transport-node"
import { failpoint } from "../../shared/failpoint.ts"
import { safeText } from "../../shared/log-text.ts"
import type { Logger } from "../../shared/logger.ts"
import { HEADER } from "../../shared/protocol/envelope.ts"
import type { CollectorMetrics } from "../metrics/collector-metrics.ts"
import { yieldToEventLoop } from "../sinks/duckdb/log-parts.ts"
import type { AcceptedEnvelope, RejectedEnvelope, WriteResult } from "../sinks/duckdb/types.ts"
import type { DuckDbWriter } from "../sinks/duckdb/writer.ts"
import type { Delivery } from "./delivery.ts"
import type { Enrollment } from "./enrollment.ts"
import { recordedHeaders } from "./incoming.ts"
import { QUARANTINE_REASONS, type Quarantine } from "./quarantine.ts"
import type { StorageHealth } from "./storage-health.ts"
import { judgeMessage, type Verdict } from "./verify.ts"

export type BatchContext = {
  nc: NatsConnection
  writer: DuckDbWriter
  enrollment(): Enrollment
  metrics: CollectorMetrics
  quarantine: Quarantine
  storage: StorageHealth
  maxEnvelopeBytes: number
  log: Logger
  /** warns at most once a minute per key (failures that repeat per batch while NATS is away); default log.warn */
  warnRepeated?(key: string, message: string): void
  logReject(reason: string, message: string): void
  /** ends waiting for storage at shutdown */
  signal: AbortSignal
  /** after a batch was committed and settled: its accepted envelopes (alerting takes the matched lines) */
  onCommitted?(accepted: readonly AcceptedEnvelope[], receivedAt: number): void
  /** after a batch was committed: the envelopes it rejected or quarantined (alerting counts bursts of them) */
  onRejected?(rejected: readonly RejectedEnvelope[], receivedAt: number): void
}

/** Messages verified between two yields to the event loop. */
const VERIFY_YIELD_EVERY = 256

/** Deliveries of one message that failed to write (while others wrote) before it goes to the quarantine. */
export const MAX_WRITE_ATTEMPTS = 5

type Settle = "ack" | "term" | "quarantine" | "none"

/**
 * Verifies a batch, writes it in one DuckDB transaction, then settles each message: accepted and duplicate ones are
 * acked, rejected ones terminated (their `processing_errors` rows are committed), those refused for a reason an
 * operator can fix are copied to the quarantine first. While DuckDB cannot write at all, nothing is settled: the
 * batch is retried with backoff and its messages stay in JetStream. A batch that fails while DuckDB can write is
 * retried message by message, so one bad message cannot hold back the others.
 */
export async function processBatch(c: BatchContext, batch: Delivery[]): Promise<void> {
  const batchIds = new Set<string>()
  const enrollment = c.enrollment()
  const accepted: AcceptedEnvelope[] = []
  const rejected: RejectedEnvelope[] = []
  const plan: Settle[] = []
  const verdicts: Verdict[] = []
  for (const d of batch) {
    verdicts.push(
      judgeMessage(d.incoming, {
        enrollment,
        maxEnvelopeBytes: c.maxEnvelopeBytes,
        committedStreamSeq: (agent, seq) => c.writer.committedStreamSeq(agent, seq),
        batchIds,
      }),
    )
    // ~50 µs each (Ed25519): let acks, keep-alives and HTTP in between on a large batch.
    if (verdicts.length % VERIFY_YIELD_EVERY === 0) await yieldToEventLoop()
  }
  verdicts.forEach((v, i) => {
    const d = batch[i] as Delivery
    if (v.type === "accept") {
      accepted.push(v.envelope)
      plan.push("ack")
    } else if (v.type === "duplicate") plan.push("ack")
    else if (QUARANTINE_REASONS.has(v.rejected.reason)) {
      plan.push(d.source === "quarantine" ? "none" : "quarantine")
      // Recorded once, when it enters the quarantine; a replay that still cannot ingest it adds nothing.
      if (d.source === "stream") rejected.push(forRecord(v.rejected, "quarantined until the cause is fixed"))
    } else {
      plan.push("term")
      rejected.push(forRecord(v.rejected))
    }
  })
  let result: WriteResult
  let receivedAt: number
  for (;;) {
    try {
      receivedAt = Date.now()
      result = await c.writer.write({ accepted, rejected, receivedAt })
      c.storage.ok()
      break
    } catch (error) {
      c.metrics.flushFailures()
      if (await c.storage.failed(error, () => c.writer.probe())) {
        if (c.signal.aborted) {
          // Shutting down while DuckDB cannot write: hand the messages back at once for the next start.
          for (const d of batch) d.retry(0)
          return
        }
        await c.storage.backoff(c.signal)
        continue
      }
      if (batch.length > 1) {
        c.log.warn(
          `DuckDB write of ${batch.length} messages failed (${safeText((error as Error).message)}); writing them one by one`,
        )
        for (const d of batch) await processBatch(c, [d])
        return
      }
      await unwritable(c, batch[0] as Delivery, verdicts[0] as Verdict, error)
      return
    }
  }
  // Crash tests kill the process here: the batch is committed and not one of its messages is acked.
  failpoint("collector.after-commit")
  await settle(c, batch, verdicts, plan)
  if (accepted.length > 0) c.onCommitted?.(accepted, receivedAt)
  if (rejected.length > 0) c.onRejected?.(rejected, receivedAt)
  let records = 0
  let bytes = 0
  for (const e of accepted) {
    records += e.meta.count
    bytes += e.bytes
    c.metrics.agents.envelope(e.meta.agent, e.meta.count, receivedAt)
  }
  c.metrics.envelopesAccepted(accepted.length)
  c.metrics.recordsReceived(records)
  c.metrics.bytesReceived(bytes)
  c.metrics.rowsWritten(result.linesWritten, { table: "log_lines" })
  c.metrics.rowsWritten(rejected.length, { table: "processing_errors" })
  for (const [kind, n] of Object.entries(result.entriesWritten)) c.metrics.entriesWritten(n ?? 0, { kind })
  for (const [kind, n] of Object.entries(result.entriesDropped)) c.metrics.entriesDropped(n ?? 0, { kind })
  c.metrics.flushDuration(result.durationMs / 1000)
}

async function settle(
  c: BatchContext,
  batch: Delivery[],
  verdicts: Verdict[],
  plan: Settle[],
): Promise<void> {
  const copies: Promise<void>[] = []
  batch.forEach((d, i) => {
    const v = verdicts[i] as Verdict
    const action = plan[i]
    if (action === "ack") {
      d.ack()
      if (d.source === "quarantine") c.metrics.quarantineIngested()
      if (v.type === "duplicate") c.metrics.envelopesDuplicate()
    } else if (action === "term" && v.type === "reject") {
      d.term()
      c.metrics.envelopesRejected(1, { reason: v.rejected.reason })
      c.logReject(v.rejected.reason, v.rejected.message)
    } else if (action === "quarantine" && v.type === "reject") {
      copies.push(toQuarantine(c, d, v.rejected.reason, v.rejected.message))
    }
  })
  await Promise.all(copies)
  try {
    await c.nc.flush()
  } catch (error) {
    // Rows are committed; acks lost in a reconnect only cause redelivery, which dedup absorbs.
    if (c.signal.aborted) {
      c.log.debug(`acks of the last batch may be lost at shutdown: ${safeText((error as Error).message)}`)
      return
    }
    warn(
      c,
      "acks",
      `acks may not have reached NATS (${safeText((error as Error).message)}); redelivered envelopes will be skipped`,
    )
  }
}

/** Copies a stream message to the quarantine, then terminates the original; keeps it in the stream on failure. */
async function toQuarantine(
  c: BatchContext,
  d: Delivery,
  reason: RejectedEnvelope["reason"],
  message: string,
) {
  try {
    if (await c.quarantine.put(d, reason)) {
      c.metrics.envelopesQuarantined(1, { reason })
      c.logReject(
        reason,
        `${message} (quarantined: ${QUARANTINE_ADVICE[reason] ?? "it is replayed on the next start"})`,
      )
    } else {
      c.metrics.quarantineRefused(1, { reason })
      c.logReject(
        `${reason}:full`,
        `${message}: the quarantine is full, envelope dropped (raise quarantine.max_bytes or discard)`,
      )
    }
    d.term()
  } catch (error) {
    warn(
      c,
      "quarantine",
      `cannot quarantine stream message ${d.incoming.streamSeq} (${safeText((error as Error).message)}); it will be redelivered`,
    )
    d.retry(5000)
  }
}

async function unwritable(c: BatchContext, d: Delivery, verdict: Verdict, error: unknown): Promise<void> {
  const message = safeText((error as Error).message)
  if (d.source === "quarantine") return // stays in the quarantine; the next replay tries again
  if (d.deliveryCount < MAX_WRITE_ATTEMPTS) {
    c.log.warn(`DuckDB write failed (attempt ${d.deliveryCount}), will be redelivered: ${message}`)
    d.retry(2000)
    return
  }
  const m = d.incoming
  const record: RejectedEnvelope = forRecord(
    {
      reason: "unwritable",
      message: `not written after ${d.deliveryCount} attempts while other messages were: ${message}`,
      subject: m.subject,
      agent: verdict.type === "accept" ? verdict.envelope.meta.agent : m.headers[HEADER.agent],
      headers: m.headers,
      size: m.data.length,
      streamSeq: m.streamSeq,
    },
    "quarantined",
  )
  try {
    await c.writer.write({ accepted: [], rejected: [record], receivedAt: Date.now() })
  } catch (recordError) {
    c.log.error(
      `cannot record unwritable stream message ${m.streamSeq} either (${safeText((recordError as Error).message)}); quarantining it`,
    )
  }
  await toQuarantine(c, d, "unwritable", record.message)
  await c.nc.flush().catch(() => {})
}

/** What brings a quarantined envelope back, by reason (`outpost-collector quarantine discard` drops it instead). */
const QUARANTINE_ADVICE: Partial<Record<RejectedEnvelope["reason"], string>> = {
  unknown_agent: "enroll the agent's key and it is ingested",
  unknown_key: "enroll the agent's new key and it is ingested",
  oversized: "raise max_envelope_bytes and restart, and it is ingested",
  unwritable: "it is tried again on the next start or enrollment change",
}

/** A rejection as stored: capped, escaped headers and message; a note on what happens to the envelope. */
function forRecord(r: RejectedEnvelope, note?: string): RejectedEnvelope {
  return {
    ...r,
    subject: safeText(r.subject, 256),
    agent: r.agent === undefined ? undefined : safeText(r.agent, 64),
    message: safeText(note ? `${r.message} (${note})` : r.message, 1024),
    headers: recordedHeaders(r.headers),
  }
}

function warn(c: BatchContext, key: string, message: string): void {
  if (c.warnRepeated) c.warnRepeated(key, message)
  else c.log.warn(message)
}
