import { safeText } from "../../shared/log-text.ts"
import type { Logger } from "../../shared/logger.ts"
import type { MetricsRegistry } from "../../shared/metrics/registry.ts"
import type { QueryPool } from "../sinks/duckdb/query-pool.ts"

export const AGENT_LAST_ENVELOPE = "outpost_collector_agent_last_envelope_timestamp_seconds"
export const AGENT_RECORDS = "outpost_collector_agent_records_total"

/** Per-agent series, kept to the enrolled agents. */
export type AgentSeries = {
  /** the enrolled agents now: new ones get their series at 0, series of agents no longer enrolled are dropped */
  enrolled(agents: Iterable<string>): void
  /** an accepted envelope of `agent` with `records` entries, written at `atMs` (ignored for an agent not enrolled) */
  envelope(agent: string, records: number, atMs: number): void
  /** the last envelope time found in DuckDB at start (kept if a newer one arrived meanwhile) */
  restore(agent: string, atSeconds: number): void
}

/**
 * Series labelled by agent exist only for enrolled agents: an agent id comes from the envelope, and one that
 * could create series would let anyone who can publish grow /metrics without bound.
 */
export function createAgentSeries(registry: MetricsRegistry): AgentSeries {
  const lastEnvelope = registry.gauge(
    AGENT_LAST_ENVELOPE,
    "Unix time the collector last wrote an envelope of this enrolled agent (absent until it sent one)",
  )
  const records = registry.counter(AGENT_RECORDS, "Entries written from this enrolled agent's envelopes")
  let enrolled = new Set<string>()
  const last = new Map<string, number>()
  return {
    enrolled(agents) {
      const next = new Set(agents)
      for (const agent of enrolled) {
        if (next.has(agent)) continue
        registry.remove(AGENT_LAST_ENVELOPE, { agent })
        registry.remove(AGENT_RECORDS, { agent })
        last.delete(agent)
      }
      for (const agent of next) registry.init(AGENT_RECORDS, { agent })
      enrolled = next
    },
    envelope(agent, n, atMs) {
      if (!enrolled.has(agent)) return
      records(n, { agent })
      const at = atMs / 1000
      if (at > (last.get(agent) ?? 0)) {
        last.set(agent, at)
        lastEnvelope(at, { agent })
      }
    },
    restore(agent, atSeconds) {
      if (!enrolled.has(agent) || atSeconds <= (last.get(agent) ?? 0)) return
      last.set(agent, atSeconds)
      lastEnvelope(atSeconds, { agent })
    },
  }
}

/** Sets each enrolled agent's last-envelope time from DuckDB, so that the gauge survives a collector restart. */
export async function restoreAgentTimes(queries: QueryPool, agents: AgentSeries, log: Logger): Promise<void> {
  try {
    const rows = await queries.rows(
      "SELECT agent, epoch(max(received_at)) AS at FROM envelopes GROUP BY agent ORDER BY agent",
    )
    for (const row of rows) agents.restore(String(row.agent), Number(row.at))
  } catch (error) {
    log.warn(`cannot read the agents' last envelope times: ${safeText((error as Error).message)}`)
  }
}
