import { registerProcessMetrics } from "../../shared/metrics/process.ts"
import { MetricsRegistry } from "../../shared/metrics/registry.ts"
import type { RejectReason } from "../../shared/protocol/envelope.ts"
import { VERSION } from "../../shared/version.ts"
import { QUARANTINE_REASONS } from "../ingest/quarantine.ts"
import { ENTRY_KINDS } from "../kinds/registry.ts"
import { createAgentSeries } from "./agent-series.ts"

/** Every reason an envelope can be rejected for; tsc fails below when RejectReason gains one not listed here. */
export const REJECT_REASONS = [
  "malformed",
  "unsupported_version",
  "unknown_agent",
  "unknown_key",
  "body_hash",
  "signature",
  "oversized",
  "replayed",
  "bad_body",
  "unsupported_kind",
  "unwritable",
] as const satisfies readonly RejectReason[]
const allListed: Exclude<RejectReason, (typeof REJECT_REASONS)[number]> extends never ? true : false = true
void allListed

/** Routes of the HTTP surface, the only values of the `route` label (anything else is `other`). */
export const HTTP_ROUTES = ["/health", "/status", "/metrics", "/sql", "/stats/urls"] as const

/** Label values known in advance, exported at 0 from the start. */
const PRESET: Record<string, Record<string, readonly string[]>> = {
  outpost_collector_envelopes_rejected_total: { reason: REJECT_REASONS },
  outpost_collector_envelopes_quarantined_total: { reason: [...QUARANTINE_REASONS] },
  outpost_collector_quarantine_refused_total: { reason: [...QUARANTINE_REASONS] },
  outpost_collector_quarantine_messages: { reason: [...QUARANTINE_REASONS] },
  outpost_collector_rows_written_total: { table: ["log_lines", "processing_errors"] },
  outpost_collector_entries_written_total: { kind: ENTRY_KINDS.map((k) => k.kind) },
  outpost_collector_entries_dropped_total: { kind: ENTRY_KINDS.map((k) => k.kind) },
  outpost_collector_nats_recreated_total: { what: ["stream", "consumer", "quarantine"] },
  outpost_collector_enrollment_reloads_total: { result: ["ok", "error"] },
}

/**
 * The collector's metrics, named outpost_collector_<noun>_<unit>[_total], plus the standard process_* ones.
 * Envelopes: `received` counts every delivery from the stream; each ends as exactly one of `accepted`,
 * `duplicate`, `rejected{reason}` or `quarantined{reason}` (or is delivered again after a failed write).
 */
export function createCollectorMetrics() {
  const registry = new MetricsRegistry()
  registry.gauge("outpost_collector_build_info", "Always 1; the version of the running collector")(1, {
    version: VERSION,
  })
  const metrics = {
    registry,
    envelopesReceived: registry.counter(
      "outpost_collector_envelopes_received_total",
      "Envelopes delivered from the stream, whatever became of them (a redelivery counts again)",
    ),
    envelopesAccepted: registry.counter(
      "outpost_collector_envelopes_accepted_total",
      "Envelopes verified and written (from the stream or a quarantine replay)",
    ),
    envelopesRejected: registry.counter(
      "outpost_collector_envelopes_rejected_total",
      "Envelopes rejected, recorded in processing_errors and terminated, by reason",
    ),
    envelopesDuplicate: registry.counter(
      "outpost_collector_envelopes_duplicate_total",
      "Redelivered envelopes that were already committed (acked, not written again)",
    ),
    envelopesQuarantined: registry.counter(
      "outpost_collector_envelopes_quarantined_total",
      "Envelopes refused for a reason an operator can fix, copied to the quarantine stream, by reason",
    ),
    recordsReceived: registry.counter(
      "outpost_collector_records_received_total",
      "Entries carried by accepted envelopes",
    ),
    bytesReceived: registry.counter(
      "outpost_collector_envelope_bytes_total",
      "Body bytes of accepted envelopes",
    ),
    rowsWritten: registry.counter("outpost_collector_rows_written_total", "Rows written to DuckDB, by table"),
    entriesWritten: registry.counter(
      "outpost_collector_entries_written_total",
      "New entries of outbox kinds stored (duplicates by id not counted), by kind",
    ),
    entriesDropped: registry.counter(
      "outpost_collector_entries_dropped_total",
      "Entries agents reported discarded by their bounded outbox before they could be sent, by kind",
    ),
    flushDuration: registry.histogram(
      "outpost_collector_flush_duration_seconds",
      "Duration of committed DuckDB transactions (one per batch)",
    ),
    flushFailures: registry.counter(
      "outpost_collector_flush_failures_total",
      "DuckDB transactions that failed (batch retried or nak'd)",
    ),
    quarantineRefused: registry.counter(
      "outpost_collector_quarantine_refused_total",
      "Envelopes that should have been quarantined but the quarantine was full (dropped), by reason",
    ),
    quarantineMessages: registry.gauge(
      "outpost_collector_quarantine_messages",
      "Envelopes held in the quarantine stream, by reason",
    ),
    quarantineBytes: registry.gauge(
      "outpost_collector_quarantine_bytes",
      "Bytes held in the quarantine stream",
    ),
    quarantineIngested: registry.counter(
      "outpost_collector_quarantine_ingested_total",
      "Quarantined envelopes ingested on a replay (after enrollment or a raised limit)",
    ),
    storageWritable: registry.gauge(
      "outpost_collector_storage_writable",
      "1 while DuckDB can write, 0 while it cannot (disk full, read-only, I/O error): nothing is acked then",
    ),
    natsConnected: registry.gauge(
      "outpost_collector_nats_connected",
      "1 while the collector is connected to NATS, 0 while it connects or reconnects",
    ),
    natsReconnects: registry.counter(
      "outpost_collector_nats_reconnects_total",
      "Times the collector's NATS connection was lost and made again",
    ),
    natsResourcesRecreated: registry.counter(
      "outpost_collector_nats_recreated_total",
      "Stream or consumer found missing and recreated from the config, by what",
    ),
    localNatsRestarts: registry.counter(
      "outpost_collector_local_nats_restarts_total",
      "Times the collector restarted its local nats-server after it died",
    ),
    enrollmentReloads: registry.counter(
      "outpost_collector_enrollment_reloads_total",
      "Times enrolled_keys was read again after a change or SIGHUP, by result",
    ),
    enrolledKeys: registry.gauge("outpost_collector_enrolled_keys", "Agent keys enrolled"),
    enrolledAgents: registry.gauge(
      "outpost_collector_enrolled_agents",
      "Agents with at least one key enrolled",
    ),
    agentOnline: registry.gauge(
      "outpost_collector_agent_online",
      "1 while an agent's heartbeats arrive, 0 once it is silent past alerts.agent_offline_after_s (agents that sent heartbeats)",
    ),
    alertMessages: registry.counter(
      "outpost_collector_alert_messages_total",
      "Alert messages made by the grouping (each is then delivered to each of its targets), by rule and status",
    ),
    alertSends: registry.counter(
      "outpost_collector_alert_sends_total",
      "Attempts to deliver an alert message, by target and outcome (sent, retry, throttled, permanent)",
    ),
    consumerPending: registry.gauge(
      "outpost_collector_consumer_pending_messages",
      "Messages in the stream not yet delivered to the consumer (refreshed on scrape)",
    ),
    consumerAckPending: registry.gauge(
      "outpost_collector_consumer_ack_pending_messages",
      "Messages delivered but not yet acknowledged (refreshed on scrape)",
    ),
    httpRequestDuration: registry.histogram(
      "outpost_collector_http_request_duration_seconds",
      "HTTP requests by route (/health, /status, /metrics, /sql or other) and status class (2xx, 4xx, 5xx)",
    ),
    agents: createAgentSeries(registry),
  }
  for (const [name, labels] of Object.entries(PRESET)) {
    for (const [label, values] of Object.entries(labels)) {
      for (const value of values) registry.init(name, { [label]: value })
    }
  }
  registry.init("outpost_collector_flush_duration_seconds")
  metrics.storageWritable(1)
  metrics.natsConnected(0)
  metrics.quarantineBytes(0)
  registerProcessMetrics(registry)
  return metrics
}
export type CollectorMetrics = ReturnType<typeof createCollectorMetrics>

/** The `route` label of a request path: one of HTTP_ROUTES or `other` (raw paths would be unbounded). */
export function httpRouteLabel(pathname: string): string {
  return (HTTP_ROUTES as readonly string[]).includes(pathname) ? pathname : "other"
}

/** `2xx`, `4xx`, `5xx`, … */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`
}
