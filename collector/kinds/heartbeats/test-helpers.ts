import { join } from "node:path"
import type { ReceivedEnvelope } from "../../../shared/protocol/envelope.ts"
import type { HeartbeatEntry } from "../../../shared/protocol/heartbeats/heartbeat.ts"
import type { Kind } from "../../../shared/protocol/subjects.ts"
import { tempDir } from "../../../test/harness/temp-dir.ts"
import type { AcceptedEnvelope } from "../../sinks/duckdb/types.ts"
import { DuckDbWriter } from "../../sinks/duckdb/writer.ts"
import type { EntryKindModule } from "../kind.ts"
import { createHeartbeatsKind, type HeartbeatsKind } from "./append.ts"

/** 2030-01-01, the test clock's origin. */
export const T0 = Date.UTC(2030, 0, 1)
const SECOND = 1000

/** A heartbeat with id `id`, sent `id` * 10 s after T0 (override any field). */
export function heartbeat(id: number, more: Partial<HeartbeatEntry> = {}): HeartbeatEntry {
  return {
    id,
    sent_at: T0 + id * 10 * SECOND,
    version: "0.1.0",
    started_at: T0 - 60 * SECOND,
    uptime_s: 60 + id * 10,
    interval_s: 10,
    sources: [
      { name: "web", files: 2, behind_bytes: 100, lag_s: 0.5 },
      { name: "app", files: 1, behind_bytes: 20 },
    ],
    urls: { checks: 3 },
    outbox: { entries: 5, bytes: 2048, dropped_total: 7, oldest_at: T0 },
    nats: { connected: true, server: "nats://127.0.0.1:4222" },
    last_publish_at: T0 + id * 10 * SECOND - 500,
    last_publish_error: null,
    ...more,
  }
}

let seq = 1

/** An accepted envelope of `agent` (host `<agent>.host`) holding these entries, as verify hands it over. */
export function envelope(
  agent: string,
  entries: HeartbeatEntry[],
  kind: Kind = "heartbeats",
): AcceptedEnvelope {
  const meta = { agent, host: `${agent}.host`, kind, seq: seq++, count: entries.length, sentAt: T0, id: "x" }
  return {
    meta: meta as unknown as ReceivedEnvelope,
    streamSeq: seq,
    bytes: 1,
    entries: { v: 1, entries },
  }
}

/**
 * A DuckDbWriter on a temp file storing the heartbeats kind (and `more` kinds); `reopen()` closes it and opens
 * it again with a fresh kind module, as a collector restart does.
 */
export async function openHeartbeatsDb(more: readonly EntryKindModule[] = []) {
  const dir = tempDir("outpost-heartbeats-")
  const path = join(dir.path, "heartbeats.duckdb")
  let kind: HeartbeatsKind
  let writer: DuckDbWriter
  const open = async () => {
    kind = createHeartbeatsKind()
    writer = await DuckDbWriter.open(path, { kinds: [kind as unknown as EntryKindModule, ...more] })
  }
  await open()
  return {
    get kind() {
      return kind
    },
    /** Writes one batch of these envelopes, received at `receivedAt`; the rows written per kind. */
    async write(accepted: AcceptedEnvelope[], receivedAt = T0) {
      return (await writer.write({ accepted, rejected: [], receivedAt })).entriesWritten
    },
    rows(sql: string) {
      return writer.query(sql)
    },
    /** agent_presence as "agent host #id sent=<s after T0> received=<s after T0>", by agent. */
    async presenceRows(): Promise<string[]> {
      const rows = await writer.query(`
        SELECT agent, host, entry_id, epoch_ms(last_sent_at) AS sent, epoch_ms(last_received_at) AS received
        FROM agent_presence ORDER BY agent`)
      return rows.map(
        (r) =>
          `${r.agent} ${r.host} #${r.entry_id} sent=${(Number(r.sent) - T0) / SECOND} received=${(Number(r.received) - T0) / SECOND}`,
      )
    },
    /** presence() in the same form as presenceRows. */
    presence(): string[] {
      return [...kind.presence()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(
          ([agent, p]) =>
            `${agent} ${p.host} #${p.entryId} sent=${(p.lastSentAt - T0) / SECOND} received=${(p.lastReceivedAt - T0) / SECOND}`,
        )
    },
    async reopen() {
      await writer.close()
      await open()
    },
    async [Symbol.asyncDispose]() {
      await writer.close()
      await dir[Symbol.asyncDispose]()
    },
  }
}
