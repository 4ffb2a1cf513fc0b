import type { Consumer, JsMsg } from "@nats-io/jetstream"
import type { NatsConnection } from "@nats-io/transport-node"
import type { CollectorMetrics } from "../metrics/collector-metrics.ts"
import type { AcceptedEnvelope, RejectedEnvelope } from "../sinks/duckdb/types.ts"
import type { DuckDbWriter } from "../sinks/duckdb/writer.ts"
import type { Enrollment } from "./enrollment.ts"
import { type IncomingMessage, judgeMessage } from "./verify.ts"

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
  /** bytes the client may hold fetched but not yet processed (bounds memory, gives backpressure) */
  bufferMaxBytes: number
  log: (message: string) => void
}

/**
 * Consumes the durable consumer continuously; messages are grouped into batches (size or wait bound), each
 * verified, written in one DuckDB transaction, then acked (accepted, duplicates) or terminated (rejected, already
 * recorded). A failed write naks the batch for redelivery. The next messages keep arriving while a batch is written.
 */
export async function runIngestLoop(options: IngestLoopOptions, signal: AbortSignal): Promise<void> {
  const o = options
  const buffer: JsMsg[] = []
  let wake: () => void = () => {}
  let ended = false
  const consumed = (async () => {
    while (!signal.aborted) {
      try {
        const messages = await o.consumer.consume({ max_bytes: o.bufferMaxBytes })
        const stop = () => messages.stop()
        signal.addEventListener("abort", stop, { once: true })
        for await (const m of messages) {
          buffer.push(m)
          wake()
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
    wake()
  })
  const waitForMessages = (ms?: number) =>
    new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(resolve, ms)
      wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  for (;;) {
    if (buffer.length === 0) {
      if (ended) break
      await waitForMessages()
      continue
    }
    const deadline = Date.now() + o.batchMaxWaitMs
    while (buffer.length < o.batchMaxMessages && !ended && Date.now() < deadline) {
      await waitForMessages(deadline - Date.now())
    }
    // Messages already received are processed even when stopping, so their acks go out before exit.
    await processBatch(o, buffer.splice(0, o.batchMaxMessages))
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
      isCommitted: (agent, seq) => o.writer.hasEnvelope(agent, seq),
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
    o.log(`DuckDB write of ${batch.length} messages failed, will be redelivered: ${(error as Error).message}`)
    for (const m of batch) m.nak(2000)
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
  await o.nc.flush()
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
