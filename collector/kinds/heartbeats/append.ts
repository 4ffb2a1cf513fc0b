import { BIGINT, DOUBLE, type DuckDBConnection, LIST, listValue, VARCHAR } from "@duckdb/node-api"
import { checkHeartbeat, type HeartbeatEntry } from "../../../shared/protocol/heartbeats/heartbeat.ts"
import { yieldToEventLoop } from "../../sinks/duckdb/log-parts.ts"
import { timestampOf as ts } from "../../sinks/duckdb/timestamps.ts"
import type { EntryKindModule, EntryRow } from "../kind.ts"
import { type AgentPresence, PresenceBook } from "./presence.ts"
import { HEARTBEATS_SCHEMA_SQL } from "./schema.ts"

/** Rows appended between two yields to the event loop (as the logs writer does). */
const APPEND_YIELD_EVERY_ROWS = 5000

/** The `heartbeats` kind, with the latest heartbeat of every agent in memory. */
export type HeartbeatsKind = EntryKindModule<HeartbeatEntry> & {
  /**
   * The newest heartbeat of each agent (committed), by agent id, of the database this module last loaded (the
   * collector's writer). A live view: entries are replaced after each commit, never changed in place.
   */
  presence(): ReadonlyMap<string, AgentPresence>
}

/**
 * The agent_presence upsert: columns in table order, as lists of one element per agent. Each agent once per
 * batch: a statement that upserts one key twice keeps an undefined one of the two, and DuckDB's ART index (the
 * primary key) copes badly with a key changed twice in one transaction. The draft holds only newer heartbeats;
 * the WHERE keeps the table's rule on its own all the same.
 */
const UPSERT_PRESENCE = `
INSERT INTO agent_presence
SELECT unnest($agents), unnest($hosts), unnest($ids), epoch_ms(unnest($sent)), epoch_ms($received),
  unnest($versions), epoch_ms(unnest($started)), unnest($intervals), unnest($previews)
ON CONFLICT (agent) DO UPDATE SET host = excluded.host, entry_id = excluded.entry_id,
  last_sent_at = excluded.last_sent_at, last_received_at = excluded.last_received_at, version = excluded.version,
  started_at = excluded.started_at, interval_s = excluded.interval_s, preview_url = excluded.preview_url
WHERE excluded.entry_id > agent_presence.entry_id`

/**
 * The `heartbeats` kind: every heartbeat into `agent_heartbeats`, the newest per agent upserted into
 * `agent_presence` in the same transaction and adopted in memory after COMMIT. Like the urls kind, the state is
 * kept per connection that `load` was called with, so one module serves any number of databases (tests open
 * many); `presence()` answers for the one loaded last.
 */
export function createHeartbeatsKind(): HeartbeatsKind {
  const books = new WeakMap<DuckDBConnection, PresenceBook>()
  let current = new PresenceBook()
  return {
    kind: "heartbeats",
    schemaSql: HEARTBEATS_SCHEMA_SQL,
    check: checkHeartbeat,
    presence: () => current.agents,
    async load(conn) {
      const reader = await conn.runAndReadAll(`
        SELECT agent, host, entry_id, epoch_ms(last_sent_at), epoch_ms(last_received_at), version,
          epoch_ms(started_at), interval_s, preview_url
        FROM agent_presence ORDER BY agent`)
      const book = new PresenceBook()
      book.reset(
        reader
          .getRows()
          .map(
            ([agent, host, id, sent, received, version, started, interval, preview]): [
              string,
              AgentPresence,
            ] => [
              String(agent),
              {
                host: String(host),
                entryId: Number(id),
                lastSentAt: Number(sent),
                lastReceivedAt: Number(received),
                version: String(version),
                startedAt: Number(started),
                intervalS: Number(interval),
                previewUrl: preview === null ? null : String(preview),
              },
            ],
          ),
      )
      books.set(conn, book)
      current = book
    },
    async append(conn, rows, receivedAt) {
      const book = books.get(conn)
      // Without the stored presence an old heartbeat could not be told from a new one.
      if (!book) throw new Error("heartbeats: append on a connection that load() was not called with")
      const draft = book.draft(rows, receivedAt)
      await appendHistory(conn, rows, receivedAt)
      const updates = [...draft.updates]
      if (updates.length > 0) {
        const p = updates.map(([, presence]) => presence)
        await conn.run(
          UPSERT_PRESENCE,
          {
            agents: listValue(updates.map(([agent]) => agent)),
            hosts: listValue(p.map((u) => u.host)),
            ids: listValue(p.map((u) => BigInt(u.entryId))),
            sent: listValue(p.map((u) => BigInt(u.lastSentAt))),
            received: BigInt(receivedAt),
            versions: listValue(p.map((u) => u.version)),
            started: listValue(p.map((u) => BigInt(u.startedAt))),
            intervals: listValue(p.map((u) => u.intervalS)),
            previews: listValue(p.map((u) => u.previewUrl)),
          },
          {
            agents: LIST(VARCHAR),
            hosts: LIST(VARCHAR),
            ids: LIST(BIGINT),
            sent: LIST(BIGINT),
            received: BIGINT,
            versions: LIST(VARCHAR),
            started: LIST(BIGINT),
            intervals: LIST(DOUBLE),
            previews: LIST(VARCHAR),
          },
        )
      }
      return { rows: rows.length, commit: () => draft.commit() }
    },
  }
}

async function appendHistory(
  conn: DuckDBConnection,
  rows: readonly EntryRow<HeartbeatEntry>[],
  receivedAt: number,
): Promise<void> {
  if (rows.length === 0) return
  const received = ts(receivedAt)
  const a = await conn.createAppender("agent_heartbeats")
  try {
    let n = 0
    for (const { agent, host, entry: e } of rows) {
      // Summed as bigints: 1000 sources of up to 2^53 each still fit a BIGINT, not a double.
      let files = 0n
      let behind = 0n
      for (const s of e.sources) {
        files += BigInt(s.files)
        behind += BigInt(s.behind_bytes)
      }
      a.appendVarchar(agent)
      a.appendVarchar(host)
      a.appendBigInt(BigInt(e.id))
      a.appendTimestamp(ts(e.sent_at))
      a.appendTimestamp(received)
      a.appendVarchar(e.version)
      a.appendTimestamp(ts(e.started_at))
      a.appendDouble(e.uptime_s)
      a.appendDouble(e.interval_s)
      a.appendBigInt(files)
      a.appendBigInt(behind)
      if (e.outbox === null) {
        a.appendNull()
        a.appendNull()
      } else {
        a.appendBigInt(BigInt(e.outbox.entries))
        a.appendBigInt(BigInt(e.outbox.dropped_total))
      }
      a.appendBoolean(e.nats.connected)
      if (e.last_publish_at === null) a.appendNull()
      else a.appendTimestamp(ts(e.last_publish_at))
      if (e.last_publish_error === null) a.appendNull()
      else a.appendVarchar(e.last_publish_error)
      a.appendVarchar(JSON.stringify(e))
      a.endRow()
      // Appending is synchronous: let acks, keep-alives and HTTP in between on a large batch.
      if (++n % APPEND_YIELD_EVERY_ROWS === 0) await yieldToEventLoop()
    }
    a.flushSync()
  } finally {
    a.closeSync()
  }
}

/** The `heartbeats` kind of the registry (collector/kinds/registry.ts). */
export const heartbeatsKind: HeartbeatsKind = createHeartbeatsKind()
