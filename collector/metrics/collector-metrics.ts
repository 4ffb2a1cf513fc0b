import { MetricsRegistry } from "./registry.ts"

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
