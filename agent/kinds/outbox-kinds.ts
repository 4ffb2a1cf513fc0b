import type { Logger } from "../../shared/logger.ts"
import type { Kind } from "../../shared/protocol/subjects.ts"
import type { AgentConfig } from "../config/schema.ts"
import type { OutboxGauges } from "../metrics/outbox-metrics.ts"
import type { Outbox } from "../outbox/types.ts"
import type { HeartbeatSnapshot } from "../sources/heartbeats/index.ts"
import type { EntriesTransportStats } from "../transport/entries-transport.ts"
import { type HeartbeatsKind, startHeartbeatsKind } from "./heartbeats.ts"
import { openAgentOutbox } from "./outbox.ts"
import type { KindPublishOptions } from "./outbox-publisher.ts"
import { startUrlsKind, type UrlsKind, type UrlsKindEvents, urlChecksRunHere } from "./urls.ts"

/** The outbox kinds this config runs, in a fixed order (metrics are made for them before they start). */
export function outboxKindsOf(config: AgentConfig): Kind[] {
  return [
    ...(urlChecksRunHere(config).length > 0 ? (["urls"] as const) : []),
    ...(config.heartbeat.enabled ? (["heartbeats"] as const) : []),
  ]
}

/** The agent's outbox and the kinds that share it: started together, published together, stopped together. */
export type OutboxKinds = {
  outbox: Outbox
  urls?: UrlsKind
  heartbeats?: HeartbeatsKind
  /** once NATS is connected: each kind drains its entries with the options made for it */
  publish(options: (kind: Kind) => KindPublishOptions): void
  /** stops every kind (publishing what waits until the deadline), then closes the outbox */
  stop(deadlineMs: number): Promise<void>
  gauges(): OutboxGauges
}

/**
 * Opens the outbox and starts the kinds that use it, before NATS is connected: what they make waits in the outbox
 * while the broker is away. Undefined when no kind runs (no URL check here, heartbeats off).
 */
export function startOutboxKinds(
  config: AgentConfig,
  logger: Logger,
  o: { urlEvents: UrlsKindEvents; snapshot: () => HeartbeatSnapshot },
): OutboxKinds | undefined {
  const outbox = openAgentOutbox(config, logger)
  if (!outbox) return undefined
  const urls = startUrlsKind(config, outbox, logger, o.urlEvents)
  const heartbeats = startHeartbeatsKind(config, outbox, o.snapshot, logger)
  return {
    outbox,
    ...(urls ? { urls } : {}),
    ...(heartbeats ? { heartbeats } : {}),
    publish(options) {
      urls?.publish(options("urls"))
      heartbeats?.publish(options("heartbeats"))
    },
    async stop(deadlineMs) {
      await Promise.all([urls?.stop(deadlineMs), heartbeats?.stop(deadlineMs)])
      outbox.close()
    },
    gauges() {
      const transports: Partial<Record<Kind, EntriesTransportStats>> = {}
      const u = urls?.transportStats()
      const h = heartbeats?.transportStats()
      if (u) transports.urls = u
      if (h) transports.heartbeats = h
      return { outbox: outbox.stats(), transports }
    },
  }
}
