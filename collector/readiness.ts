import type { JetStreamManager } from "@nats-io/jetstream"
import type { Quarantine } from "./ingest/quarantine.ts"
import type { StorageHealth } from "./ingest/storage-health.ts"
import type { StreamWatch } from "./ingest/stream-watch.ts"
import type { NatsConnectionWatch } from "./nats/connection-watch.ts"
import type { LocalNatsServer } from "./nats/local-server.ts"
import type { QueryPool } from "./sinks/duckdb/query-pool.ts"

/** What exists so far: the parts come up one after the other, and /health reports on those that did. */
export type CollectorParts = {
  /** the start-up step in progress, as a /health problem; undefined once the collector is ready */
  starting: string | undefined
  queries?: QueryPool
  local?: LocalNatsServer
  nats?: NatsConnectionWatch
  jsm?: JetStreamManager
  quarantine?: Quarantine
  storage?: StorageHealth
  streamWatch?: StreamWatch
  loopRunning?: boolean
}

/** Why the collector is not healthy right now, one line per part (`<part>: <why>`); empty when it is. */
export function collectorProblems(p: CollectorParts): string[] {
  const out: string[] = []
  if (p.starting) out.push(p.starting)
  if (p.nats && !p.nats.up) out.push(p.nats.problem ?? "nats: disconnected")
  if (p.local && !p.local.up) out.push("nats: the local nats-server is down, restarting it")
  if (p.loopRunning === false) out.push("ingest: stopped")
  if (p.storage?.problem) out.push(`storage: ${p.storage.problem}`)
  if (p.streamWatch?.problem) out.push(`stream: ${p.streamWatch.problem}`)
  return out
}

/** What waits in the quarantine, for /status; null while NATS cannot tell (a request would only time out). */
export async function quarantineView(p: CollectorParts) {
  if (!p.quarantine || p.nats?.up !== true) return null
  try {
    return { ...(await p.quarantine.totals()), groups: await p.quarantine.groups() }
  } catch {
    return null
  }
}

/** The consumer's lag, refreshed on call (a scrape must not wait on a disconnected NATS: null then). */
export async function consumerLagView(p: CollectorParts, stream: string, consumer: string) {
  if (!p.jsm || p.nats?.up !== true) return null
  try {
    const info = await p.jsm.consumers.info(stream, consumer)
    return { pending: info.num_pending, ackPending: info.num_ack_pending }
  } catch {
    return null
  }
}
