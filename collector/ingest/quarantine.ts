import type { JetStreamClient, JetStreamManager, MsgRequest, StoredMsg } from "@nats-io/jetstream"
import { headers as natsHeaders } from "@nats-io/transport-node"
import type { RejectReason } from "../../shared/protocol/envelope.ts"
import { AGENT_ID_PATTERN } from "../../shared/protocol/keys.ts"
import type { Delivery } from "./delivery.ts"
import { MAX_HEADER_CHARS, MAX_HEADERS } from "./incoming.ts"

/**
 * Reasons an operator can fix (enroll the key, raise `max_envelope_bytes`, free the disk): envelopes refused for
 * them are held in the quarantine stream, not terminated, and ingested once the reason is gone.
 */
export const QUARANTINE_REASONS: ReadonlySet<RejectReason> = new Set<RejectReason>([
  "unknown_agent",
  "unknown_key",
  "oversized",
  "unwritable",
])

/** Headers the collector adds to a quarantined copy; the original headers are kept as they were. */
export const QUARANTINE_HEADER = {
  reason: "Outpost-Quarantine-Reason",
  streamSeq: "Outpost-Quarantine-Stream-Seq",
  subject: "Outpost-Quarantine-Subject",
  msgId: "Outpost-Quarantine-Msg-Id",
  at: "Outpost-Quarantined-At",
} as const

export type QuarantineOptions = {
  js: JetStreamClient
  jsm: JetStreamManager
  /** name of the quarantine stream */
  stream: string
  /** first subject token of quarantined copies, e.g. `outpost-quarantine` */
  subjectRoot: string
}

/** One (reason, agent) group of quarantined envelopes. */
export type QuarantineGroup = { reason: string; agent: string; messages: number }

/** Subject of a quarantined copy: `<root>.<reason>.<agent>` (`_` when the agent header is not a valid id). */
export function quarantineSubject(root: string, reason: string, agent: string | undefined): string {
  return `${root}.${reason}.${agent && AGENT_ID_PATTERN.test(agent) ? agent : "_"}`
}

/** The quarantine stream: put copies in, list them, replay them through ingest, discard them. */
export class Quarantine {
  constructor(private readonly o: QuarantineOptions) {}

  /**
   * Stores a copy of a stream message under the envelope's own msg id, so a copy made again after a crash
   * (before the original was terminated) is dropped by JetStream as a duplicate.
   * Returns false when the quarantine is full (its limits refuse new messages).
   */
  async put(d: Delivery, reason: RejectReason): Promise<boolean> {
    const m = d.incoming
    const h = natsHeaders()
    // The original id moves to a header of its own: the copy's `Nats-Msg-Id` must be the quarantine's dedup key.
    for (const [name, value] of Object.entries(m.headers)) {
      if (name === "Nats-Msg-Id") h.set(QUARANTINE_HEADER.msgId, value)
      else h.set(name, value)
    }
    h.set(QUARANTINE_HEADER.reason, reason)
    h.set(QUARANTINE_HEADER.streamSeq, String(m.streamSeq))
    h.set(QUARANTINE_HEADER.subject, m.subject)
    h.set(QUARANTINE_HEADER.at, String(Date.now()))
    try {
      await this.o.js.publish(
        quarantineSubject(this.o.subjectRoot, reason, m.headers["Outpost-Agent"]),
        m.data,
        {
          headers: h,
          // The envelope's own id (agent, seq, body hash): a copy made again after a crash is dropped as a
          // duplicate, and unlike a stream sequence it cannot collide after the stream was recreated.
          msgID: `q.${m.headers["Nats-Msg-Id"] ?? `seq-${m.streamSeq}`}`,
        },
      )
      return true
    } catch (error) {
      // Only the quarantine's own limits mean "full"; NATS out of disk (insufficient resources) is retried.
      if (/maximum (bytes|messages)/i.test((error as Error).message)) return false
      throw error
    }
  }

  /** Counts by reason and agent (from the stream's per-subject state). */
  async groups(): Promise<QuarantineGroup[]> {
    const info = await this.o.jsm.streams.info(this.o.stream, { subjects_filter: `${this.o.subjectRoot}.>` })
    const out: QuarantineGroup[] = []
    for (const [subject, messages] of Object.entries(info.state.subjects ?? {})) {
      const [, reason = "?", agent = "?"] = subject.split(".")
      out.push({ reason, agent, messages })
    }
    return out.sort((a, b) => a.reason.localeCompare(b.reason) || a.agent.localeCompare(b.agent))
  }

  /** Messages and bytes held. */
  async totals(): Promise<{ messages: number; bytes: number }> {
    const info = await this.o.jsm.streams.info(this.o.stream)
    return { messages: info.state.messages, bytes: info.state.bytes }
  }

  /** Deletes quarantined envelopes, all or those of one agent and/or reason; returns how many. */
  async discard(filter: { agent?: string; reason?: string } = {}): Promise<number> {
    const subject = `${this.o.subjectRoot}.${filter.reason ?? "*"}.${filter.agent ?? "*"}`
    const res = await this.o.jsm.streams.purge(this.o.stream, { filter: subject })
    return res.purged
  }

  /**
   * Hands every quarantined copy (in batches, oldest first) to `ingest` as a Delivery whose ack/term deletes it
   * from the quarantine and whose retry leaves it there. Returns how many were looked at.
   */
  async replay(ingest: (batch: Delivery[]) => Promise<void>, batchSize = 64): Promise<number> {
    let seq = 1
    let seen = 0
    for (;;) {
      const batch: Delivery[] = []
      while (batch.length < batchSize) {
        const stored = await this.next(seq)
        if (!stored) break
        seq = stored.seq + 1
        const delivery = this.delivery(stored)
        if (delivery) batch.push(delivery)
      }
      if (batch.length === 0) return seen
      seen += batch.length
      await ingest(batch)
    }
  }

  private async next(seq: number): Promise<StoredMsg | null> {
    // The server (2.9+) takes `next_by_subj` with a start sequence; the client's type only lists `seq`.
    const query = { seq, next_by_subj: `${this.o.subjectRoot}.>` } as unknown as MsgRequest
    try {
      return await this.o.jsm.streams.getMessage(this.o.stream, query)
    } catch (error) {
      if (/no message found/i.test((error as Error).message)) return null
      throw error
    }
  }

  private delivery(stored: StoredMsg): Delivery | undefined {
    const headers: Record<string, string> = {}
    let kept = 0
    let original: { seq: number; subject: string } | undefined
    const seqText = stored.header.get(QUARANTINE_HEADER.streamSeq)
    const subject = stored.header.get(QUARANTINE_HEADER.subject)
    if (seqText && subject) original = { seq: Number(seqText), subject }
    for (const key of stored.header.keys()) {
      if (Object.values<string>(QUARANTINE_HEADER).includes(key)) continue
      if (kept++ >= MAX_HEADERS) break
      headers[key.slice(0, MAX_HEADER_CHARS)] = stored.header.get(key).slice(0, MAX_HEADER_CHARS)
    }
    const remove = () => {
      this.o.jsm.streams.deleteMessage(this.o.stream, stored.seq, false).catch(() => {})
    }
    if (!original) {
      remove()
      return undefined
    }
    const id = stored.header.get(QUARANTINE_HEADER.msgId)
    if (id) headers["Nats-Msg-Id"] = id
    return {
      source: "quarantine",
      incoming: {
        subject: original.subject,
        headers,
        data: stored.data,
        streamSeq: original.seq,
        redelivered: false,
      },
      deliveryCount: 1,
      ack: remove,
      term: remove,
      retry: () => {},
    }
  }
}
