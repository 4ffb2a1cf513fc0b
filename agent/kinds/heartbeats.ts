import type { Logger } from "../../shared/logger.ts"
import type { AgentConfig } from "../config/schema.ts"
import type { Outbox } from "../outbox/types.ts"
import {
  createHeartbeatSource,
  type HeartbeatSnapshot,
  type HeartbeatSource,
  type HeartbeatStats,
} from "../sources/heartbeats/index.ts"
import type { EntriesTransportStats } from "../transport/entries-transport.ts"
import { createOutboxPublisher, type KindPublishOptions } from "./outbox-publisher.ts"

/** Heartbeats per envelope (one every interval: a batch is what an outage kept) and the wait for more. */
const HEARTBEATS_BATCH = { max_entries: 1000, max_wait_ms: 100 }

/** The `heartbeats` kind on the agent: a beat every interval -> outbox -> entries transport -> JetStream. */
export type HeartbeatsKind = {
  source: HeartbeatSource
  status(): { heartbeats: HeartbeatStats; transport: EntriesTransportStats | null }
  transportStats(): EntriesTransportStats | null
  publish(options: KindPublishOptions): void
  stop(deadlineMs: number): Promise<void>
}

/**
 * Starts the heartbeats before NATS is connected, as the URL checks do: beats made while the broker is away wait
 * in the outbox, so the collector's history shows the outage from the agent's side too. Undefined with
 * `[heartbeat] enabled = false`.
 */
export function startHeartbeatsKind(
  config: AgentConfig,
  outbox: Outbox,
  snapshot: () => HeartbeatSnapshot,
  logger: Logger,
): HeartbeatsKind | undefined {
  if (!config.heartbeat.enabled) return undefined
  const source = createHeartbeatSource({
    intervalS: config.heartbeat.interval_s,
    snapshot,
    append: (entries) => outbox.append("heartbeats", entries),
    logger: logger.child("heartbeats"),
  })
  const abort = new AbortController()
  const beating = source.run(abort.signal)
  const publisher = createOutboxPublisher("heartbeats", outbox, HEARTBEATS_BATCH)
  return {
    source,
    status: () => ({ heartbeats: source.stats(), transport: publisher.stats() }),
    transportStats: () => publisher.stats(),
    publish: (o) => publisher.publish(o),
    async stop(deadlineMs) {
      abort.abort()
      await beating
      await publisher.close(deadlineMs)
    },
  }
}
