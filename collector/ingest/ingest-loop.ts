import type { Consumer, JsMsg } from "@nats-io/jetstream"
import type { NatsConnection } from "@nats-io/transport-node"
import { HEADER } from "../../shared/protocol/envelope.ts"
import type { CollectorMetrics } from "../metrics/collector-metrics.ts"
import type { AcceptedEnvelope, RejectedEnvelope } from "../sinks/duckdb/types.ts"
import type { DuckDbWriter } from "../sinks/duckdb/writer.ts"
import type { Enrollment } from "./enrollment.ts"
import { type IncomingMessage, judgeMessage, type Verdict } from "./verify.ts"

export type IngestLoopOptions = {
  nc: NatsConnection
  consumer: Consumer
  writer: DuckDbWriter
  enrollment: Enrollment
  metrics: CollectorMetrics
  maxEnvelopeBytes: number
  /** most messages written in one DuckDB transaction */
  batchMaxMessages: number
  /** how long a batch waits for more messages after its first one */
  batchMaxWaitMs: number
  /** bytes asked for per pull request (must exceed the largest envelope) */
  pullMaxBytes: number
  log: (message: string) => void
}

/** A wake-up that can be awaited, optionally with a timeout. */
function createSignal() {
  let notify: () => void = () => {}
  return {
    notify: () => notify(),
    wait: (ms?: number) =>
      new Promise<void>((resolve) => {
        const timer = ms === undefined ? undefined : setTimeout(resolve, ms)
        notify = () => {
          clearTimeout(timer)
          resolve()
        }
      }),
  }
}

/**
 * Consumes the durable consumer continuously; messages are grouped into batches (size or wait bound), each
 * verified, written in one DuckDB transaction, then acked (accepted, duplicates) or terminated (rejected, already
 * recorded). A failed write naks the batch for redelivery. The next messages keep arriving while a batch is
 * written; how many messages can wait unacknowledged is bounded by the consumer's `max_ack_pending`.
 */
export async function runIngestLoop(options: IngestLoopOptions, signal: AbortSignal): Promise<void> {
  const o = options
  const buffer: JsMsg[] = []
  const arrived = createSignal()
  let ended = false
  const consumed = (async () => {
    while (!signal.aborted) {
      try {
        const messages = await o.consumer.consume({ max_bytes: o.pullMaxBytes })
        const stop = () => messages.stop()
        signal.addEventListener("abort", stop, { once: true })
        for await (const m of messages) {
          buffer.push(m)
          arrived.notify()
        }
        signal.removeEventListener("abort", stop)
      } catch (error) {
        if (signal.aborted) break
        o.log(`consume failed, retrying: ${(error as Error).message}`)
        await Bun.sleep(500)
      }
    }
  })().finally(() => {
    ended = true
    arrived.notify()
  })
  for (;;) {
    if (buffer.length === 0) {
      if (ended) break
      await arrived.wait()
      continue
    }
    const deadline = Date.now() + o.batchMaxWaitMs
    while (buffer.length < o.batchMaxMessages && !ended && Date.now() < deadline) {
      await arrived.wait(deadline - Date.now())
    }
    // Messages already received are processed even when stopping, so their acks go out before exit.
    const batch = buffer.splice(0, o.batchMaxMessages)
    try {
      await processBatch(o, batch)
    } catch (error) {
      // Never leave the loop over one batch: unacked messages are redelivered after ack_wait.
      o.log(`batch of ${batch.length} messages failed: ${(error as Error).message}`)
    }
  }
  await consumed
}

async function processBatch(o: IngestLoopOptions, batch: JsMsg[]): Promise<void> {
  const batchIds = new Set<string>()
  const accepted: AcceptedEnvelope[] = []
  const rejected: RejectedEnvelope[] = []
  const verdicts = batch.map((m) =>
    judgeMessage(toIncoming(m), {
      enrollment: o.enrollment,
      maxEnvelopeBytes: o.maxEnvelopeBytes,
      committedStreamSeq: (agent, seq) => o.writer.committedStreamSeq(agent, seq),
      batchIds,
    }),
  )
  for (const v of verdicts) {
    if (v.type === "accept") accepted.push(v.envelope)
    else if (v.type === "reject") rejected.push(v.rejected)
  }
  let result: Awaited<ReturnType<DuckDbWriter["write"]>>
  try {
    result = await o.writer.write({ accepted, rejected, receivedAt: Date.now() })
  } catch (error) {
    o.metrics.flushFailures()
    if (batch.length > 1) {
      // Find the message that cannot be written: the others go through on their own.
      o.log(
        `DuckDB write of ${batch.length} messages failed (${(error as Error).message}); writing them one by one`,
      )
      for (const m of batch) await processBatch(o, [m])
      return
    }
    await handleUnwritable(o, batch[0] as JsMsg, verdicts[0], error)
    return
  }
  verdicts.forEach((v, i) => {
    const m = batch[i] as JsMsg
    if (v.type === "reject") {
      // No reason argument: "+TERM <reason>" needs nats-server 2.10.4+, and 2.9 ignores it (the message stays pending).
      m.term()
      o.metrics.envelopesRejected(1, { reason: v.rejected.reason })
      o.log(`rejected (${v.rejected.reason}): ${v.rejected.message}`)
    } else {
      m.ack()
      if (v.type === "duplicate") o.metrics.envelopesDuplicate()
    }
  })
  try {
    await o.nc.flush()
  } catch (error) {
    // Rows are committed; acks lost in a reconnect only cause redelivery, which dedup absorbs.
    o.log(
      `acks may not have reached NATS (${(error as Error).message}); redelivered envelopes will be skipped`,
    )
  }
  let records = 0
  let bytes = 0
  for (const e of accepted) {
    records += e.meta.count
    bytes += e.bytes
  }
  o.metrics.envelopesReceived(accepted.length)
  o.metrics.recordsReceived(records)
  o.metrics.bytesReceived(bytes)
  o.metrics.rowsWritten(result.linesWritten, { table: "log_lines" })
  o.metrics.rowsWritten(rejected.length, { table: "processing_errors" })
  o.metrics.flushes()
  o.metrics.flushSeconds(result.durationMs / 1000)
  o.metrics.lastFlushSeconds(result.durationMs / 1000)
}

/** Deliveries of one message that failed to write before it is recorded as unwritable and terminated. */
const MAX_WRITE_ATTEMPTS = 5

async function handleUnwritable(
  o: IngestLoopOptions,
  m: JsMsg,
  verdict: Verdict | undefined,
  error: unknown,
) {
  const message = (error as Error).message
  if (m.info.deliveryCount < MAX_WRITE_ATTEMPTS) {
    o.log(`DuckDB write failed (attempt ${m.info.deliveryCount}), will be redelivered: ${message}`)
    m.nak(2000)
    return
  }
  const incoming = toIncoming(m)
  try {
    await o.writer.write({
      accepted: [],
      rejected: [
        {
          reason: "unwritable",
          message: `not written after ${m.info.deliveryCount} attempts: ${message}`,
          subject: m.subject,
          agent: verdict?.type === "accept" ? verdict.envelope.meta.agent : incoming.headers[HEADER.agent],
          headers: incoming.headers,
          size: m.data.length,
          streamSeq: m.info.streamSequence,
        },
      ],
      receivedAt: Date.now(),
    })
    m.term()
    o.metrics.envelopesRejected(1, { reason: "unwritable" })
    o.log(`rejected (unwritable) stream message ${m.info.streamSequence}: ${message}`)
  } catch (recordError) {
    o.log(
      `cannot record an unwritable message either (${(recordError as Error).message}); will be redelivered`,
    )
    m.nak(5000)
  }
}

function toIncoming(m: JsMsg): IncomingMessage {
  const headers: Record<string, string> = {}
  if (m.headers) for (const key of m.headers.keys()) headers[key] = m.headers.get(key)
  return {
    subject: m.subject,
    headers,
    data: m.data,
    streamSeq: m.info.streamSequence,
    redelivered: m.redelivered,
  }
}
