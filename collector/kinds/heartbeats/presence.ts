import type { HeartbeatEntry } from "../../../shared/protocol/heartbeats/heartbeat.ts"
import type { EntryRow } from "../kind.ts"

/**
 * What the collector knows of an agent from its newest heartbeat. `lastReceivedAt` is on the collector's clock
 * (judge silence with it: `now - lastReceivedAt` against a few `intervalS`); `lastSentAt` and `startedAt` are on
 * the agent's. Times in ms since the epoch.
 */
export type AgentPresence = {
  host: string
  /** the heartbeat's entry id: "newest" means the highest */
  entryId: number
  lastSentAt: number
  lastReceivedAt: number
  version: string
  startedAt: number
  intervalS: number
  /** the agent's preview page (`[preview] url`), where alert links point; null: none */
  previewUrl: string | null
}

/** The committed presence of every agent, as stored in `agent_presence`. */
export class PresenceBook {
  agents = new Map<string, AgentPresence>()

  /** Replaces what is held with what was loaded from the table. */
  reset(rows: Iterable<[agent: string, presence: AgentPresence]>): void {
    this.agents = new Map(rows)
  }

  /**
   * The presence each agent of a batch moves to: its newest heartbeat in the batch, if that is newer (by entry
   * id) than the committed one. An older heartbeat arriving late is history only. One update per agent, so the
   * upsert touches each key once per transaction.
   */
  draft(rows: readonly EntryRow<HeartbeatEntry>[], receivedAt: number): PresenceDraft {
    const updates = new Map<string, AgentPresence>()
    for (const { agent, host, entry } of rows) {
      const before = updates.get(agent) ?? this.agents.get(agent)
      if (before !== undefined && entry.id <= before.entryId) continue
      updates.set(agent, {
        host,
        entryId: entry.id,
        lastSentAt: entry.sent_at,
        lastReceivedAt: receivedAt,
        version: entry.version,
        startedAt: entry.started_at,
        intervalS: entry.interval_s,
        previewUrl: entry.preview_url ?? null,
      })
    }
    return new PresenceDraft(this, updates)
  }
}

/** A batch's presence updates; the book is unchanged until `commit()` (after COMMIT). */
export class PresenceDraft {
  constructor(
    private readonly book: PresenceBook,
    readonly updates: ReadonlyMap<string, AgentPresence>,
  ) {}

  commit(): void {
    // Entries are replaced, never changed in place: a caller holding one keeps a consistent snapshot.
    for (const [agent, p] of this.updates) this.book.agents.set(agent, p)
  }
}
