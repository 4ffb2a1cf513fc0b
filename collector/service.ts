import { mkdirSync } from "node:fs"
import { isAbsolute, join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { ConfigError } from "../shared/errors.ts"
import type { CollectorConfig } from "./config/schema.ts"
import { createHttpApp } from "./http/app.ts"
import { loadEnrollment } from "./ingest/enrollment.ts"
import { runIngestLoop } from "./ingest/ingest-loop.ts"
import { ensureStreamAndConsumer } from "./ingest/stream-setup.ts"
import { createCollectorMetrics } from "./metrics/collector-metrics.ts"
import { type LocalNatsServer, startLocalNatsServer } from "./nats/local-server.ts"
import { DuckDbWriter } from "./sinks/duckdb/writer.ts"

export type RunningCollector = {
  natsUrl: string
  httpUrl: string
  duckdbPath: string
  /** stop fetching, finish and commit the batch in hand, ack it, close DuckDB, stop the local nats-server */
  stop(): Promise<void>
  /** resolves when the ingest loop ends */
  done: Promise<void>
}

/** Starts every part of the collector from a validated config. */
export async function startCollector(
  config: CollectorConfig,
  log: (message: string) => void,
): Promise<RunningCollector> {
  mkdirSync(config.data_dir, { recursive: true })
  const enrollment = loadEnrollment(config.enrolled_keys)
  log(`enrolled ${enrollment.size} agent(s) from ${config.enrolled_keys}`)
  const duckdbPath = isAbsolute(config.duckdb_file)
    ? config.duckdb_file
    : join(config.data_dir, config.duckdb_file)
  if (config.consumer.pull_max_bytes < config.max_envelope_bytes + 64 * 1024) {
    throw new ConfigError(
      "config_invalid",
      `consumer.pull_max_bytes (${config.consumer.pull_max_bytes}) must exceed max_envelope_bytes (${config.max_envelope_bytes}) by at least 65536, or large envelopes could never be pulled`,
    )
  }
  const writer = await DuckDbWriter.open(duckdbPath, {
    memoryLimitMb: config.duckdb_memory_limit_mb,
    // Older envelopes have left the stream (max_age), so they cannot be delivered again.
    rememberEnvelopesMs: config.stream.max_age_s > 0 ? (config.stream.max_age_s + 86_400) * 1000 : 0,
  })
  let local: LocalNatsServer | undefined
  if (!config.nats.url) {
    local = await startLocalNatsServer({
      dataDir: config.data_dir,
      host: config.nats.local_host,
      port: config.nats.local_port,
      maxPayloadBytes: config.nats.local_max_payload_bytes,
      log,
    })
  }
  const natsUrl = config.nats.url ?? (local as LocalNatsServer).url
  const nc = await connect({
    servers: natsUrl,
    name: "outpost-collector",
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
  })
  const jsm = await jetstreamManager(nc)
  await ensureStreamAndConsumer(jsm, config)
  const consumer = await jetstream(nc).consumers.get(config.stream.name, config.consumer.durable_name)
  const metrics = createCollectorMetrics()
  const abort = new AbortController()
  let natsUp = true
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") natsUp = false
      if (s.type === "reconnect") natsUp = true
    }
  })()
  const done = runIngestLoop(
    {
      nc,
      consumer,
      writer,
      enrollment,
      metrics,
      maxEnvelopeBytes: config.max_envelope_bytes,
      batchMaxMessages: config.consumer.batch_max_messages,
      batchMaxWaitMs: config.consumer.batch_max_wait_ms,
      pullMaxBytes: config.consumer.pull_max_bytes,
      log,
    },
    abort.signal,
  )
  let loopRunning = true
  void done.finally(() => {
    loopRunning = false
  })
  const app = createHttpApp({
    writer,
    metrics,
    startedAt: Date.now(),
    healthy: () => natsUp && loopRunning,
    consumerLag: async () => {
      try {
        const info = await jsm.consumers.info(config.stream.name, config.consumer.durable_name)
        return { pending: info.num_pending, ackPending: info.num_ack_pending }
      } catch {
        return null
      }
    },
  })
  const server = Bun.serve({
    hostname: config.http.host,
    port: config.http.port,
    fetch: (req) => app.handle(req),
  })
  const httpUrl = `http://${config.http.host}:${server.port}`
  log(`collector ready: NATS ${natsUrl}, DuckDB ${duckdbPath}, HTTP ${httpUrl}`)
  const progress = setInterval(() => {
    const v = (name: string, labels?: Record<string, string>) => metrics.registry.value(name, labels)
    log(
      `written ${v("outpost_collector_rows_written_total", { table: "log_lines" })} lines from ${v("outpost_collector_envelopes_received_total")} envelopes; rejected ${metrics.registry.sum("outpost_collector_envelopes_rejected_total")}, duplicates ${v("outpost_collector_envelopes_duplicate_total")}, failed writes ${v("outpost_collector_flush_failures_total")}`,
    )
  }, 30_000)
  progress.unref()
  let stopping: Promise<void> | undefined
  return {
    natsUrl,
    httpUrl,
    duckdbPath,
    done,
    stop() {
      stopping ??= (async () => {
        clearInterval(progress)
        abort.abort()
        await done
        await server.stop(true)
        await nc.drain().catch(() => {})
        await writer.close()
        await local?.stop()
        log("collector stopped")
      })()
      return stopping
    },
  }
}
