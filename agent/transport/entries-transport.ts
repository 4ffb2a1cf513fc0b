import type { KeyObject } from "node:crypto"
import type { JetStreamClient } from "@nats-io/jetstream"
import { abortableSleep } from "../../shared/abortable-sleep.ts"
import { createRepeatLimiter, type Logger, type LogLevel } from "../../shared/logger.ts"
import { encodeEntriesBody, MAX_ENTRIES_PER_BODY } from "../../shared/protocol/entries-body.ts"
import { signEnvelope } from "../../shared/protocol/envelope.ts"
import type { Kind } from "../../shared/protocol/subjects.ts"
import type { Outbox, OutboxPeek } from "../outbox/index.ts"
import { publishWithRetry } from "./publisher.ts"
import type { SequenceAllocator } from "./sequence.ts"

/** `{"v":1,"entries":[`, `]`, the dropped report and `}` around the entries, with room to spare. */
const BODY_OVERHEAD_BYTES = 128

export type EntriesBatchLimits = {
  /** entries per envelope; default 5000 */
  max_entries: number
  /** body bytes per envelope, under NATS max_payload (1 MiB) minus the headers; default 900 KiB */
  max_bytes: number
  /** how long the first entry waits for more to fill its envelope; default 200 */
  max_wait_ms: number
}

/** What the transport tells the agent's metrics and health. */
export type EntriesTransportEvents = {
  /** JetStream acknowledged an envelope: its entries, body bytes, and seconds from its first attempt to the ack */
  published?(entries: number, bytes: number, seconds: number): void
  /** a publish attempt failed; it is retried */
  retried?(error: unknown, attempt: number): void
}

export type EntriesTransportOptions = {
  kind: Kind
  outbox: Outbox
  agent: string
  host: string
  keyId: string
  privateKey: KeyObject
  js: JetStreamClient
  /** the agent's envelope seq, shared by every transport */
  sequence: SequenceAllocator
  batch: EntriesBatchLimits
  publishTimeoutMs: number
  /** failed publishes (at warn, at most every `reportEveryMs`), drop reports, the duplicate-id alarm */
  logger?: Logger
  events?: EntriesTransportEvents
  now?: () => number
  /** how often failing publishes are reported while they go on; default 30 s */
  reportEveryMs?: number
}

/** Counters the agent reports. */
export type EntriesTransportStats = {
  envelopes: number
  entries: number
  bytes: number
  retries: number
  /** entries the outbox dropped (its bound) that acknowledged envelopes reported to the collector */
  dropped_reported: number
  /** envelopes JetStream already had before their first publish: someone else published their id */
  duplicateFirstPublish: number
}

/**
 * Drains one kind of the outbox into signed envelopes, one in flight at a time so that a kind's entries reach the
 * stream in id order. Entries are removed from the outbox only after JetStream acknowledged their envelope. If the
 * agent dies between the ack and the removal, the same entries go out again after the restart, in a new envelope
 * with a new seq (so JetStream's msg-id dedup does not catch it): the collector deduplicates by entry id.
 */
export class EntriesTransport {
  readonly stats: EntriesTransportStats = {
    envelopes: 0,
    entries: 0,
    bytes: 0,
    retries: 0,
    dropped_reported: 0,
    duplicateFirstPublish: 0,
  }
  private closing = false
  /** aborted by close: ends the waits for entries and for a batch to fill */
  private readonly stopWaiting = new AbortController()
  /** aborted at the close deadline: ends the retrying of the envelope in flight */
  private readonly retryAbort = new AbortController()
  private readonly now: () => number
  private readonly repeat: ReturnType<typeof createRepeatLimiter>
  private readonly log: (message: string, level?: LogLevel) => void

  constructor(private readonly options: EntriesTransportOptions) {
    this.now = options.now ?? Date.now
    this.repeat = createRepeatLimiter(options.reportEveryMs ?? 30_000)
    this.log = (message, level = "info") => options.logger?.[level](message)
  }

  /** Runs until `close`: then publishes what waits in the outbox until it is empty or the close deadline passed. */
  async run(): Promise<void> {
    const { kind, outbox, batch } = this.options
    const maxEntries = Math.min(Math.max(1, batch.max_entries), MAX_ENTRIES_PER_BODY)
    const maxBytes = Math.max(1, batch.max_bytes - BODY_OVERHEAD_BYTES)
    let lastPeekAt = 0
    let backlog = false
    for (;;) {
      if (this.retryAbort.signal.aborted) return
      const idle = outbox.pending(kind).entries === 0
      if (this.closing && idle) return
      await outbox.waitForEntries(kind, this.stopWaiting.signal)
      if (this.closing && outbox.pending(kind).entries === 0) return
      const waiting = outbox.pending(kind)
      if (!this.closing && !backlog && waiting.entries < maxEntries && waiting.bytes < maxBytes) {
        // Entries waiting already came after the last peek; a first one after idling came just now.
        const ms = (idle ? this.now() : lastPeekAt) + batch.max_wait_ms - this.now()
        if (ms > 0) await abortableSleep(ms, this.stopWaiting.signal)
      }
      const peeked = outbox.peek(kind, maxEntries, maxBytes)
      lastPeekAt = this.now()
      backlog = outbox.pending(kind).entries > peeked.entries.length
      if (peeked.entries.length === 0 && !peeked.dropped) continue
      if (!(await this.publish(peeked))) return
    }
  }

  /** Stops waiting for more and flushes; after `deadlineMs` the envelope in flight is given up (sent after restart). */
  async close(deadlineMs: number, running: Promise<void>): Promise<void> {
    this.closing = true
    this.stopWaiting.abort()
    const timer = setTimeout(() => this.retryAbort.abort(), deadlineMs)
    try {
      await running
    } finally {
      clearTimeout(timer)
    }
  }

  /** Publishes one envelope until acknowledged, then removes its entries; false when given up at close. */
  private async publish(peeked: OutboxPeek): Promise<boolean> {
    const o = this.options
    const { entries, dropped } = peeked
    // An envelope with no entries carries only a drop report (every entry of the kind was dropped).
    const lastId = entries.at(-1)?.id ?? (dropped?.before_id ?? 1) - 1
    const body = encodeEntriesBody(entries, dropped)
    const envelope = signEnvelope({
      privateKey: o.privateKey,
      keyId: o.keyId,
      agent: o.agent,
      host: o.host,
      kind: o.kind,
      seq: o.sequence.take(),
      count: entries.length,
      sentAt: this.now(),
      body,
    })
    const started = performance.now()
    try {
      await publishWithRetry(envelope, {
        js: o.js,
        timeoutMs: o.publishTimeoutMs,
        signal: this.retryAbort.signal,
        log: this.log,
        stats: this.stats,
        onRetry: (error, attempt) => {
          this.stats.retries++
          o.events?.retried?.(error, attempt)
          // one line for all envelopes failing alike (they all are while NATS is down), with how many more
          this.repeat(
            "publish",
            (m) => this.log(m, "warn"),
            `publish of ${o.kind} envelope ${envelope.id} failed (attempt ${attempt}), retrying: ${explain(error, envelope.subject)}`,
          )
        },
      })
    } catch {
      this.log(
        `gave up publishing ${o.kind} envelope ${envelope.id} at shutdown; its ${entries.length} entries stay in the outbox`,
        "debug",
      )
      return false
    }
    o.outbox.remove(o.kind, lastId, dropped)
    const seconds = (performance.now() - started) / 1000
    this.stats.envelopes++
    this.stats.entries += entries.length
    this.stats.bytes += body.length
    if (dropped) {
      this.stats.dropped_reported += dropped.count
      this.log(
        `told the collector that the outbox dropped ${dropped.count} ${o.kind} entries before id ${dropped.before_id}`,
      )
    }
    o.events?.published?.(entries.length, body.length, seconds)
    this.log(
      `published ${o.kind} envelope ${envelope.id}: ${entries.length} entries, ${body.length} bytes, acked after ${Math.round(seconds * 1000)} ms`,
      "debug",
    )
    return true
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
