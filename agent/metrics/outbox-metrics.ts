import type { MetricsRegistry } from "../../shared/metrics/registry.ts"
import type { Kind } from "../../shared/protocol/subjects.ts"
import type { OutboxStats } from "../outbox/index.ts"
import type { EntriesTransportStats } from "../transport/index.ts"

/** What a scrape reads of the outbox and of each kind's transport that drains it. */
export type OutboxGauges = {
  outbox: OutboxStats
  /** per kind drained from the outbox; absent until NATS is connected */
  transports: Partial<Record<Kind, EntriesTransportStats>>
}

/**
 * The outbox's metrics: what waits in it (entries, bytes, the oldest entry's age: an outage's length), entries
 * dropped by its bound and drops not yet reported to the collector, and per kind the entries JetStream
 * acknowledged. Counters follow the stats they are read from (they restart at 0 with the agent).
 */
export function registerOutboxMetrics(registry: MetricsRegistry, kinds: readonly Kind[], now = Date.now) {
  const entries = registry.gauge(
    "outpost_agent_outbox_entries",
    "Entries waiting in the outbox to be published",
  )
  const bytes = registry.gauge(
    "outpost_agent_outbox_bytes",
    "JSON bytes of the entries waiting in the outbox",
  )
  const oldest = registry.gauge(
    "outpost_agent_outbox_oldest_entry_age_seconds",
    "Age of the oldest entry waiting in the outbox (0 when empty): how long publishing has been held up",
  )
  const dropped = registry.counter(
    "outpost_agent_outbox_dropped_entries_total",
    "Entries dropped by the outbox bound (max_bytes, max_entries), oldest first; the collector records them as a gap",
  )
  const unreported = registry.gauge(
    "outpost_agent_outbox_unreported_dropped_entries",
    "Entries dropped by the bound that no acknowledged envelope has reported to the collector yet, by kind",
  )
  const published = registry.counter(
    "outpost_agent_entries_published_total",
    "Outbox entries in envelopes that JetStream acknowledged, by kind",
  )
  for (const kind of kinds) {
    registry.init("outpost_agent_entries_published_total", { kind })
    unreported(0, { kind })
  }
  let droppedSeen = 0
  const publishedSeen = new Map<Kind, number>()
  return {
    update(g: OutboxGauges): void {
      entries(g.outbox.entries)
      bytes(g.outbox.bytes)
      oldest(g.outbox.oldestAt === undefined ? 0 : Math.max(0, (now() - g.outbox.oldestAt) / 1000))
      if (g.outbox.droppedSinceOpen > droppedSeen) dropped(g.outbox.droppedSinceOpen - droppedSeen)
      droppedSeen = g.outbox.droppedSinceOpen
      for (const kind of kinds) unreported(g.outbox.dropped[kind] ?? 0, { kind })
      for (const [kind, stats] of Object.entries(g.transports) as [Kind, EntriesTransportStats][]) {
        const delta = stats.entries - (publishedSeen.get(kind) ?? 0)
        if (delta > 0) published(delta, { kind })
        publishedSeen.set(kind, stats.entries)
      }
    },
  }
}
