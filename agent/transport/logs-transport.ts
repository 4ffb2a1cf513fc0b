import type { KeyObject } from "node:crypto"
import type { JetStreamClient } from "@nats-io/jetstream"
import { createRepeatLimiter, type LogLevel } from "../../shared/logger.ts"
import { signEnvelope } from "../../shared/protocol/envelope.ts"
import type { LogChunk } from "../sources/source.ts"
import { buildLogsBody, chunkBytes, MAX_PARTS_PER_ENVELOPE } from "./envelope-builder.ts"
import { publishWithRetry } from "./publisher.ts"
import type { SequenceAllocator } from "./sequence.ts"

export type BatchLimits = {
  max_records: number
  max_bytes: number
  max_wait_ms: number
  max_in_flight: number
}

export type LogsTransportOptions = {
  agent: string
  host: string
  keyId: string
  privateKey: KeyObject
  js: JetStreamClient
  sequence: SequenceAllocator
  batch: BatchLimits
  publishTimeoutMs: number
  /** failed publishes (at warn, at most every `reportEveryMs`) and the duplicate-id alarm */
  log?: (message: string, level?: LogLevel) => void
  /** for metrics and /health */
  events?: TransportEvents
  now?: () => number
  /** how often failing publishes are reported while they go on; default 30 s */
  reportEveryMs?: number
}

/** What the transport tells the agent's metrics and health. */
export type TransportEvents = {
  /** JetStream acknowledged an envelope: its chunks, body bytes, and seconds from its first attempt to the ack */
  published?(chunks: readonly LogChunk[], bytes: number, seconds: number): void
  /** a publish attempt failed; it is retried */
  retried?(error: unknown, attempt: number): void
}

/** Counters the agent reports. */
export type TransportStats = {
  envelopes: number
  lines: number
  bytes: number
  retries: number
  /** envelopes JetStream already had before their first publish: someone else published their id */
  duplicateFirstPublish: number
  pendingBytes: number
  inFlight: number
}

type InFlight = { chunks: LogChunk[]; settled: boolean; ok: boolean }

/**
 * Batches log chunks into signed envelopes and publishes them with a bounded window of unacknowledged envelopes.
 * Chunk acks run strictly in emit order, and only after JetStream acknowledged that envelope and every earlier one,
 * so a saved position never runs ahead of what the stream holds. `emit` blocks while the queue is full.
 */
export class LogsTransport {
  readonly stats: TransportStats = {
    envelopes: 0,
    lines: 0,
    bytes: 0,
    retries: 0,
    duplicateFirstPublish: 0,
    pendingBytes: 0,
    inFlight: 0,
  }
  private pending: LogChunk[] = []
  private pendingRecords = 0
  private firstPendingAt = 0
  private inFlight: InFlight[] = []
  private closing = false
  /** set when an envelope was given up at shutdown: nothing after it may be acked, or its lines would be skipped */
  private abandoned = false
  private wakeUp: () => void = () => {}
  private wakeSignal: Promise<void> = Promise.resolve()
  private readonly retryAbort = new AbortController()
  private readonly now: () => number
  private readonly maxPendingBytes: number
  private readonly repeat: ReturnType<typeof createRepeatLimiter>

  constructor(private readonly options: LogsTransportOptions) {
    this.now = options.now ?? Date.now
    this.repeat = createRepeatLimiter(options.reportEveryMs ?? 30_000)
    this.maxPendingBytes = options.batch.max_bytes * 2
    this.resetWake()
  }

  /** Queues a chunk; resolves when there is room for more (backpressure to the sources). */
  async emit(chunk: LogChunk): Promise<void> {
    // After close the chunk is dropped unacked: its position is not saved, so it is read again on restart.
    if (this.closing) return
    if (this.pending.length === 0) this.firstPendingAt = this.now()
    this.pending.push(chunk)
    this.pendingRecords += chunk.lines
    this.stats.pendingBytes += chunkBytes(chunk)
    this.wake()
    while (this.stats.pendingBytes >= this.maxPendingBytes && !this.closing) await this.wakeSignal
  }

  /** Runs until `close` has been called and everything queued was published (or the close deadline passed). */
  async run(): Promise<void> {
    const { max_records, max_bytes, max_wait_ms, max_in_flight } = this.options.batch
    for (;;) {
      if (this.abandoned || this.retryAbort.signal.aborted) break
      if (this.pending.length === 0) {
        if (this.closing) break
        await this.wakeSignal
        continue
      }
      const full = this.pendingRecords >= max_records || this.stats.pendingBytes >= max_bytes
      const waitMs = this.firstPendingAt + max_wait_ms - this.now()
      if (!full && !this.closing && waitMs > 0) {
        await Promise.race([this.wakeSignal, Bun.sleep(waitMs)])
        continue
      }
      while (this.inFlight.length >= max_in_flight) await this.wakeSignal
      this.startPublish(this.takeBatch(max_records, max_bytes))
    }
    while (this.inFlight.length > 0 && !this.abandoned) await this.wakeSignal
  }

  /** Stops accepting chunks and flushes; after `deadlineMs` unpublished envelopes are abandoned (re-read on restart). */
  async close(deadlineMs: number, running: Promise<void>): Promise<void> {
    this.closing = true
    this.wake()
    const timer = setTimeout(() => this.retryAbort.abort(), deadlineMs)
    try {
      await running
    } finally {
      clearTimeout(timer)
    }
  }

  private takeBatch(maxRecords: number, maxBytes: number): LogChunk[] {
    const batch: LogChunk[] = []
    let records = 0
    let bytes = 0
    let parts = 0
    while (this.pending.length > 0) {
      const next = this.pending[0] as LogChunk
      const size = chunkBytes(next)
      const full =
        records + next.lines > maxRecords ||
        bytes + size > maxBytes ||
        parts + next.parts.length > MAX_PARTS_PER_ENVELOPE
      if (batch.length > 0 && full) break
      batch.push(next)
      this.pending.shift()
      records += next.lines
      bytes += size
      parts += next.parts.length
    }
    this.pendingRecords -= records
    this.stats.pendingBytes -= bytes
    this.firstPendingAt = this.now()
    this.wake()
    return batch
  }

  private startPublish(chunks: LogChunk[]): void {
    const entry: InFlight = { chunks, settled: false, ok: false }
    this.inFlight.push(entry)
    this.stats.inFlight = this.inFlight.length
    const { body, lines } = buildLogsBody(chunks)
    if (lines === 0) {
      // Nothing matched: no envelope, but the positions still advance in order.
      entry.settled = true
      entry.ok = true
      this.drainAcks()
      return
    }
    const o = this.options
    const envelope = signEnvelope({
      privateKey: o.privateKey,
      keyId: o.keyId,
      agent: o.agent,
      host: o.host,
      kind: "logs",
      seq: o.sequence.take(),
      count: lines,
      sentAt: this.now(),
      body,
    })
    const started = performance.now()
    publishWithRetry(envelope, {
      js: o.js,
      timeoutMs: o.publishTimeoutMs,
      signal: this.retryAbort.signal,
      log: o.log,
      stats: this.stats,
      onRetry: (error, attempt) => {
        this.stats.retries++
        o.events?.retried?.(error, attempt)
        // one line for all envelopes failing alike (they all are while NATS is down), with how many more
        this.repeat(
          "publish",
          (m) => o.log?.(m, "warn"),
          `publish of envelope ${envelope.id} failed (attempt ${attempt}), retrying: ${explain(error, envelope.subject)}`,
        )
      },
    })
      .then(
        () => {
          entry.ok = true
          this.stats.envelopes++
          this.stats.lines += lines
          this.stats.bytes += body.length
          const seconds = (performance.now() - started) / 1000
          o.events?.published?.(chunks, body.length, seconds)
          o.log?.(
            `published envelope ${envelope.id}: ${lines} lines, ${body.length} bytes, acked after ${Math.round(seconds * 1000)} ms`,
            "debug",
          )
        },
        () => {
          entry.ok = false
        },
      )
      .finally(() => {
        entry.settled = true
        this.drainAcks()
      })
  }

  private drainAcks(): void {
    while (this.inFlight.length > 0 && !this.abandoned) {
      const head = this.inFlight[0] as InFlight
      if (!head.settled) break
      if (!head.ok) {
        // Given up at shutdown: this and everything after stay unacknowledged, so they are read again on restart.
        this.abandoned = true
        this.inFlight.length = 0
        break
      }
      this.inFlight.shift()
      for (const chunk of head.chunks) chunk.ack()
    }
    this.stats.inFlight = this.inFlight.length
    this.wake()
  }

  private wake(): void {
    this.wakeUp()
    this.resetWake()
  }

  private resetWake(): void {
    this.wakeSignal = new Promise((resolve) => {
      this.wakeUp = resolve
    })
  }
}

/** nats.js reports "no stream takes this subject" as JetStream being disabled; say what it usually means. */
function explain(error: unknown, subject: string): string {
  const message = (error as Error).message ?? String(error)
  if (/jetstream is not enabled|no responders/i.test(message)) {
    return `no JetStream stream takes ${subject} yet (the collector creates it when it starts) [${message}]`
  }
  return message
}
