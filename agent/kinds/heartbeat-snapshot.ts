import type { AgentConfig } from "../config/schema.ts"
import type { AgentStatus } from "../http/status.ts"
import type { Outbox } from "../outbox/types.ts"
import {
  type HeartbeatSnapshot,
  heartbeatOutbox,
  heartbeatSourceStatus,
} from "../sources/heartbeats/index.ts"
import type { Source } from "../sources/source.ts"

/** What each heartbeat says of the agent now (the source adds times, version and interval). */
export function createHeartbeatSnapshot(o: {
  config: AgentConfig
  status: AgentStatus
  sources: () => readonly Source[]
  /** URL checks run here (0: the agent has no urls kind) */
  urlChecks: number
  outbox: () => Outbox | undefined
}): () => HeartbeatSnapshot {
  return () => {
    const nats = o.status.nats()
    const outbox = o.outbox()
    return {
      sources: o.sources().map((s) => heartbeatSourceStatus(s.name, s.status?.())),
      urls: o.urlChecks > 0 ? { checks: o.urlChecks } : null,
      outbox: outbox ? heartbeatOutbox(outbox.stats()) : null,
      nats: { connected: nats.connected, server: nats.server ?? null },
      last_publish_at: o.status.lastPublishAt() ?? null,
      last_publish_error: o.status.lastPublishError() ?? null,
      preview_url: o.config.preview.url ?? null,
    }
  }
}
