import { MetricsRegistry } from "../../shared/metrics/registry.ts"

/** The collector's metrics, named outpost_collector_<noun>_<unit>. */
export function createCollectorMetrics() {
  const registry = new MetricsRegistry()
  return {
    registry,
    envelopesReceived: registry.counter(
      "outpost_collector_envelopes_received_total",
      "Envelopes accepted and written",
    ),
    envelopesRejected: registry.counter(
      "outpost_collector_envelopes_rejected_total",
      "Envelopes rejected, recorded in processing_errors and terminated, by reason",
    ),
    envelopesDuplicate: registry.counter(
      "outpost_collector_envelopes_duplicate_total",
      "Redelivered envelopes that were already committed (acked, not written again)",
    ),
    recordsReceived: registry.counter(
      "outpost_collector_records_received_total",
      "Entries carried by accepted envelopes",
    ),
    rowsWritten: registry.counter("outpost_collector_rows_written_total", "Rows written to DuckDB, by table"),
    bytesReceived: registry.counter(
      "outpost_collector_envelope_bytes_total",
      "Body bytes of accepted envelopes",
    ),
    flushes: registry.counter("outpost_collector_flushes_total", "DuckDB transactions committed"),
    flushSeconds: registry.counter(
      "outpost_collector_flush_seconds_total",
      "Time spent in DuckDB transactions",
    ),
    flushFailures: registry.counter(
      "outpost_collector_flush_failures_total",
      "DuckDB transactions that failed (batch nak'd)",
    ),
    lastFlushSeconds: registry.gauge(
      "outpost_collector_last_flush_seconds",
      "Duration of the last DuckDB transaction",
    ),
    envelopesQuarantined: registry.counter(
      "outpost_collector_envelopes_quarantined_total",
      "Envelopes refused for a reason an operator can fix, copied to the quarantine stream, by reason",
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
    natsResourcesRecreated: registry.counter(
      "outpost_collector_nats_recreated_total",
      "Stream or consumer found missing and recreated from the config, by what",
    ),
    enrollmentReloads: registry.counter(
      "outpost_collector_enrollment_reloads_total",
      "Times enrolled_keys was read again after a change or SIGHUP, by result",
    ),
    localNatsRestarts: registry.counter(
      "outpost_collector_local_nats_restarts_total",
      "Times the collector restarted its local nats-server after it died",
    ),
    enrolledKeys: registry.gauge("outpost_collector_enrolled_keys", "Agent keys enrolled"),
    consumerPending: registry.gauge(
      "outpost_collector_consumer_pending_messages",
      "Messages in the stream not yet delivered to the consumer",
    ),
    consumerAckPending: registry.gauge(
      "outpost_collector_consumer_ack_pending_messages",
      "Messages delivered but not yet acknowledged",
    ),
  }
}
export type CollectorMetrics = ReturnType<typeof createCollectorMetrics>
