import { registerProcessMetrics } from "../../shared/metrics/process.ts"
import { MetricsRegistry } from "../../shared/metrics/registry.ts"
import type { Kind } from "../../shared/protocol/subjects.ts"
import { VERSION } from "../../shared/version.ts"
import type { FileStatus } from "../sources/source.ts"
import type { UrlCheckStatus } from "../sources/urls/index.ts"
import { type OutboxGauges, registerOutboxMetrics } from "./outbox-metrics.ts"
import { registerUrlsMetrics } from "./urls-metrics.ts"

/** What only a scrape can tell: the files being read now, the transport's queue. */
export type AgentGauges = {
  files: readonly FileStatus[]
  queuedBytes: number
  inFlight: number
  /** the URL checks, when this agent runs checks */
  urls?: { checks: readonly UrlCheckStatus[] }
  /** the outbox and the kinds that drain it, when it is open */
  outbox?: OutboxGauges
}

/**
 * The agent's metrics, named outpost_agent_<noun>_<unit>[_total], and the standard process_* ones. Counters
 * (by source: for every configured source) and the publish histogram start at 0, so a rate() has a series
 * before the first event.
 */
export function createAgentMetrics(
  sources: readonly string[],
  urlChecks: readonly string[] = [],
  outboxKinds: readonly Kind[] = urlChecks.length > 0 ? ["urls"] : [],
) {
  const registry = new MetricsRegistry()
  registry.gauge("outpost_agent_build_info", "Always 1; the version of this agent as a label")(1, {
    version: VERSION,
  })
  const bySource = (name: string, help: string) => {
    const add = registry.counter(name, help)
    for (const source of sources) registry.init(name, { source })
    return (value: number, source: string) => add(value, { source })
  }
  const filesWatched = registry.gauge(
    "outpost_agent_files_watched",
    "File generations being read (a rotated file counts until it is read to its end), by source",
  )
  const queuedBytes = registry.gauge(
    "outpost_agent_queued_bytes",
    "Bytes read and waiting for a batch (the sources block past twice batch.max_bytes)",
  )
  const inFlight = registry.gauge(
    "outpost_agent_envelopes_in_flight",
    "Envelopes published or being retried, not yet acknowledged in order",
  )
  const sourceUp = registry.gauge(
    "outpost_agent_source_up",
    "1 while a source runs, 0 before it started and once it failed, by source",
  )
  for (const source of sources) sourceUp(0, { source })
  const metrics = {
    registry,
    bytesRead: bySource("outpost_agent_read_bytes_total", "Bytes read from log files, by source"),
    linesRead: bySource(
      "outpost_agent_lines_read_total",
      "Lines read and handed to the transport, by source",
    ),
    linesShipped: bySource(
      "outpost_agent_lines_shipped_total",
      "Lines in envelopes that JetStream acknowledged, by source",
    ),
    envelopesPublished: registry.counter(
      "outpost_agent_envelopes_published_total",
      "Envelopes that JetStream acknowledged",
    ),
    envelopeBytes: registry.counter(
      "outpost_agent_envelope_bytes_total",
      "Body bytes of the envelopes that JetStream acknowledged",
    ),
    publishRetries: registry.counter(
      "outpost_agent_publish_retries_total",
      "Publish attempts that failed (timeout, no connection, no stream) and were retried",
    ),
    duplicateFirstPublish: registry.counter(
      "outpost_agent_envelopes_duplicate_first_publish_total",
      "Envelopes JetStream already had before their first publish: another client published their id",
    ),
    publishSeconds: registry.histogram(
      "outpost_agent_publish_duration_seconds",
      "From the first publish attempt of an envelope to its JetStream ack, retries included",
    ),
    lastPublish: registry.gauge(
      "outpost_agent_last_publish_timestamp_seconds",
      "When JetStream last acknowledged an envelope (Unix time; 0: not yet)",
    ),
    natsConnected: registry.gauge("outpost_agent_nats_connected", "1 while connected to NATS, else 0"),
    natsDisconnects: registry.counter(
      "outpost_agent_nats_disconnects_total",
      "Times the NATS connection was lost after it was up",
    ),
    sourceUp,
    urls: urlChecks.length > 0 ? registerUrlsMetrics(registry, urlChecks) : undefined,
    outbox: outboxKinds.length > 0 ? registerOutboxMetrics(registry, outboxKinds) : undefined,
    /**
     * Prometheus text. The gauges of `now` are set first; bytes behind per file comes from a registry made for
     * this scrape alone, so that a generation read to its end leaves no series behind.
     */
    render(now: AgentGauges): string {
      const watched = new Map<string, number>(sources.map((s) => [s, 0]))
      for (const f of now.files) watched.set(f.source, (watched.get(f.source) ?? 0) + 1)
      for (const [source, n] of watched) filesWatched(n, { source })
      queuedBytes(now.queuedBytes)
      inFlight(now.inFlight)
      if (now.urls) metrics.urls?.update(now.urls.checks)
      if (now.outbox) metrics.outbox?.update(now.outbox)
      const perFile = new MetricsRegistry()
      const behind = perFile.gauge(
        "outpost_agent_file_behind_bytes",
        "Bytes of a file not read yet (size minus read position), by source and path; only files being read",
      )
      // a path has two generations while its rotated file is read to its end: one series, their sum
      const sums = new Map<string, { source: string; path: string; bytes: number }>()
      for (const f of now.files) {
        const key = `${f.source}\0${f.path}`
        const s = sums.get(key) ?? { source: f.source, path: f.path, bytes: 0 }
        s.bytes += f.behind
        sums.set(key, s)
      }
      for (const s of sums.values()) behind(s.bytes, { source: s.source, path: s.path })
      return registry.render() + perFile.render()
    },
  }
  registry.init("outpost_agent_publish_duration_seconds")
  registerProcessMetrics(registry)
  return metrics
}
export type AgentMetrics = ReturnType<typeof createAgentMetrics>
