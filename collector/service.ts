import { mkdirSync } from "node:fs"
import { isAbsolute, join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import type { NatsConnection } from "@nats-io/transport-node"
import { OutpostError } from "../shared/errors.ts"
import type { Logger } from "../shared/logger.ts"
import { presenceRows } from "./alerts/presence-status.ts"
import { type Alerting, startAlerting } from "./alerts/start.ts"
import { checkCollectorConfig } from "./config/checks.ts"
import type { CollectorConfig } from "./config/schema.ts"
import { resolveHttpAccess } from "./http/access-config.ts"
import { createHttpApp } from "./http/app.ts"
import { hostPort, serveHttp } from "./http/server.ts"
import { serveAgentStatus } from "./ingest/agent-status.ts"
import { loadEnrollment } from "./ingest/enrollment.ts"
import { EnrollmentWatch, keyCount } from "./ingest/enrollment-watch.ts"
import { startIngestLoop } from "./ingest/ingest-loop.ts"
import { Quarantine } from "./ingest/quarantine.ts"
import { createQuarantineUpkeep } from "./ingest/quarantine-upkeep.ts"
import { createRejectLog } from "./ingest/reject-log.ts"
import { StorageHealth } from "./ingest/storage-health.ts"
import { ensureStreamAndConsumer } from "./ingest/stream-setup.ts"
import { StreamWatch } from "./ingest/stream-watch.ts"
import { createEntryKinds } from "./kinds/registry.ts"
import { restoreAgentTimes } from "./metrics/agent-series.ts"
import { createCollectorMetrics } from "./metrics/collector-metrics.ts"
import { startProgressLog } from "./metrics/progress-log.ts"
import { connectCollector, localNatsOptions } from "./nats/connect.ts"
import { watchNatsConnection } from "./nats/connection-watch.ts"
import { loadEnrolledAgents } from "./nats/enrolled-agents.ts"
import { type LocalNatsServer, localServerUrl, startLocalNatsServer } from "./nats/local-server.ts"
import { type CollectorParts, collectorProblems, consumerLagView, quarantineView } from "./readiness.ts"
import { openQueryPool } from "./sinks/duckdb/query-pool.ts"
import { DuckDbWriter } from "./sinks/duckdb/writer.ts"

export type RunningCollector = {
  natsUrl: string
  httpUrl: string
  duckdbPath: string
  /** stop fetching, finish and commit the batch in hand, ack it, close DuckDB, stop the local nats-server */
  stop(): Promise<void>
  /** resolves when the ingest loop ends */
  done: Promise<void>
  /** reads enrolled_keys again (SIGHUP); newly enrolled agents' quarantined envelopes are then ingested */
  reloadEnrollment(): Promise<void>
  /** runs the quarantine through ingest again; returns how many envelopes were looked at */
  replayQuarantine(): Promise<number>
  /** deletes quarantined envelopes (all, or one agent's and/or one reason's); returns how many */
  discardQuarantine(filter?: { agent?: string; reason?: string }): Promise<number>
  /** why the collector is not healthy right now (empty when it is) */
  problems(): string[]
}

export type StartCollectorOptions = {
  /** aborted while the collector starts (SIGTERM while it waits for NATS): what was started is stopped again */
  signal?: AbortSignal
}

/**
 * Starts every part of the collector from a validated config. HTTP comes up first, so that while DuckDB opens
 * and NATS is connected (which may take forever while it is unreachable) /health answers 503 with the step it
 * waits for. Resolves once envelopes are consumed; a port HTTP cannot listen on rejects at once.
 */
export async function startCollector(
  config: CollectorConfig,
  log: Logger,
  options: StartCollectorOptions = {},
): Promise<RunningCollector> {
  mkdirSync(config.data_dir, { recursive: true })
  const enrollment = loadEnrollment(config.enrolled_keys)
  log.info(
    `enrolled ${enrollment.size} agent(s), ${keyCount(enrollment)} key(s) from ${config.enrolled_keys}`,
  )
  const duckdbPath = isAbsolute(config.duckdb_file)
    ? config.duckdb_file
    : join(config.data_dir, config.duckdb_file)
  checkCollectorConfig(config)
  const access = resolveHttpAccess(config.http, (m) => log.info(m))
  const metrics = createCollectorMetrics()
  const enrolled = (e: typeof enrollment) => {
    metrics.enrolledKeys(keyCount(e))
    metrics.enrolledAgents(e.size)
    metrics.agents.enrolled(e.keys())
  }
  enrolled(enrollment)
  const p: CollectorParts = { starting: "starting" }
  const problems = () => collectorProblems(p)
  const startedAt = Date.now()
  const kinds = createEntryKinds(config)
  let alerting: Alerting | undefined
  const watch = { offlineAfterMs: config.alerts.agent_offline_after_s * 1000, startedAt }
  const app = createHttpApp({
    presence: () => presenceRows(kinds.heartbeats.presence(), Date.now(), watch),
    alerts: async () => (alerting ? await alerting.status() : null),
    queries: () => p.queries,
    access,
    metrics,
    startedAt,
    problems,
    quarantine: () => quarantineView(p),
    consumerLag: () => consumerLagView(p, config.stream.name, config.consumer.durable_name),
  })
  const server = serveHttp(app, {
    host: config.http.host,
    port: config.http.port,
    access,
    queries: () => p.queries,
  })
  const httpUrl = `http://${hostPort(config.http.host, server.port)}`
  log.info(`HTTP on ${httpUrl}; /health answers 503 until the collector is ready`)
  let writer: DuckDbWriter | undefined
  let nc: NatsConnection | undefined
  const step = (problem: string) => {
    if (options.signal?.aborted) throw new OutpostError("aborted", `start-up interrupted (${p.starting})`)
    p.starting = problem
  }
  try {
    step(`duckdb: opening ${duckdbPath}`)
    writer = await DuckDbWriter.open(duckdbPath, {
      memoryLimitMb: config.duckdb_memory_limit_mb,
      // Older envelopes have left the stream (max_age), so they cannot be delivered again.
      rememberEnvelopesMs: config.stream.max_age_s > 0 ? (config.stream.max_age_s + 86_400) * 1000 : 0,
      // the registry's kinds, with this config's settings
      kinds: kinds.modules,
    })
    p.queries = await openQueryPool(writer.instance, {
      maxConcurrent: config.sql.max_concurrent,
      maxQueued: config.sql.max_queued,
      timeoutMs: config.sql.timeout_ms,
      maxResultBytes: config.sql.max_result_bytes,
      maxQueryChars: config.sql.max_query_chars,
      log: (m) => log.warn(m),
    })
    await restoreAgentTimes(p.queries, metrics.agents, log)
    if (!config.nats.url) {
      const url = localServerUrl(config.nats.local_host, config.nats.local_port, !!config.nats.local_tls)
      step(`nats: starting the local nats-server on ${url}`)
      p.local = await startLocalNatsServer(
        localNatsOptions(config, loadEnrolledAgents(config.enrolled_keys), log, {
          onRestart: () => metrics.localNatsRestarts(),
        }),
      )
    }
    const local = p.local
    const natsUrl = config.nats.url ?? (local as LocalNatsServer).url
    const since = new Date().toISOString()
    step(`nats: connecting to ${natsUrl} since ${since}`)
    nc = await connectCollector(config, local, log, {
      signal: options.signal,
      onRetry: (reason) => {
        p.starting = `nats: connecting to ${natsUrl} since ${since}: ${reason}`
      },
    })
    const connection = nc
    p.nats = watchNatsConnection(connection, {
      log,
      onConnected: (up) => metrics.natsConnected(up ? 1 : 0),
      onReconnect: () => metrics.natsReconnects(),
    })
    step(`nats: setting up stream ${config.stream.name} and consumer ${config.consumer.durable_name}`)
    const jsm = await jetstreamManager(connection)
    await ensureStreamAndConsumer(jsm, config)
    const js = jetstream(connection)
    const consumer = await js.consumers.get(config.stream.name, config.consumer.durable_name)
    step("ingest: starting")
    p.jsm = jsm
    const abort = new AbortController()
    const quarantine = new Quarantine({
      js,
      jsm,
      stream: config.quarantine.stream,
      subjectRoot: config.quarantine.subject_root,
    })
    p.quarantine = quarantine
    const storage = new StorageHealth(log, (writable) => metrics.storageWritable(writable ? 1 : 0))
    p.storage = storage
    const streamWatch = new StreamWatch({
      jsm,
      config,
      log,
      onRecreated: (what) => {
        metrics.natsResourcesRecreated(1, { what })
        if (what !== "quarantine") loop.restartConsume()
      },
      onStalled: () => loop.restartConsume(),
      ingestIdle: () => loop.idle(),
    })
    p.streamWatch = streamWatch
    streamWatch.start()
    const enrollmentWatch = new EnrollmentWatch({
      path: config.enrolled_keys,
      initial: enrollment,
      log,
      onReload: (result) => metrics.enrollmentReloads(1, { result }),
      onChange: async (next) => {
        enrolled(next)
        // The local nats-server lets a newly enrolled agent in (its NKEY user) before its quarantine is replayed.
        await local?.setAgents(loadEnrolledAgents(config.enrolled_keys))
        // Not awaited: a long replay (or one waiting for storage) must not hold back the next reload, which may
        // be a revocation.
        upkeep.replaySoon("enrollment changed")
      },
    })
    enrollmentWatch.start()
    const db = writer
    const loop = startIngestLoop(
      {
        nc: connection,
        consumer,
        writer: db,
        enrollment: () => enrollmentWatch.enrollment,
        metrics,
        quarantine,
        storage,
        maxEnvelopeBytes: config.max_envelope_bytes,
        batchMaxMessages: config.consumer.batch_max_messages,
        batchMaxBytes: config.consumer.batch_max_bytes,
        maxAckPending: config.consumer.max_ack_pending,
        batchMaxWaitMs: config.consumer.batch_max_wait_ms,
        pullMaxBytes: config.consumer.pull_max_bytes,
        ackWaitMs: config.consumer.ack_wait_s * 1000,
        onConsumeError: () => streamWatch.check(),
        log,
        logReject: createRejectLog((m) => log.warn(m)),
        onCommitted: (accepted, at) => alerting?.engine.committed(accepted, at),
        onRejected: (rejected, at) => alerting?.engine.rejected(rejected, at),
      },
      abort.signal,
    )
    const done = loop.done
    p.loopRunning = true
    void done.finally(() => {
      p.loopRunning = false
    })
    const upkeep = createQuarantineUpkeep({ quarantine, metrics, log, replay: () => loop.replayQuarantine() })
    const statusSub = serveAgentStatus({
      nc: connection,
      enrollment: () => enrollmentWatch.enrollment,
      quarantined: upkeep.quarantined,
    })
    const gauges = setInterval(() => void upkeep.refresh(), 5000)
    gauges.unref()
    // Limits may have been raised since the last run: give the quarantine a chance at once.
    upkeep.replaySoon("start")
    const stopProgress = startProgressLog(metrics, log)
    alerting = await startAlerting({
      config: config.alerts,
      instance: db.instance,
      presence: () => kinds.heartbeats.presence(),
      logger: log.child("alerts"),
      metrics,
      startedAt,
    })
    p.starting = undefined
    log.info(`collector ready: NATS ${natsUrl}, DuckDB ${duckdbPath}, HTTP ${httpUrl}`)
    let stopping: Promise<void> | undefined
    return {
      natsUrl,
      httpUrl,
      duckdbPath,
      done,
      problems,
      reloadEnrollment: () => enrollmentWatch.reload("signal"),
      replayQuarantine: () => upkeep.replay("command"),
      discardQuarantine: async (filter) => {
        const n = await quarantine.discard(filter)
        log.info(
          `discarded ${n} quarantined envelope(s)${filter?.agent ? ` of agent '${filter.agent}'` : ""}${filter?.reason ? ` (${filter.reason})` : ""}`,
        )
        await upkeep.refresh()
        return n
      },
      stop() {
        stopping ??= (async () => {
          stopProgress()
          upkeep.stop()
          clearInterval(gauges)
          statusSub.unsubscribe()
          streamWatch.stop()
          enrollmentWatch.stop()
          abort.abort()
          await alerting?.stop()
          await done
          await server.stop(true)
          await connection.drain().catch(() => {})
          await db.close()
          await local?.stop()
          log.info("collector stopped")
        })()
        return stopping
      },
    }
  } catch (error) {
    // Never leave a listening port, a nats-server or an open database behind a collector that failed to start.
    await server.stop(true).catch(() => {})
    await nc?.close().catch(() => {})
    await p.local?.stop().catch(() => {})
    await writer?.close().catch(() => {})
    throw error
  }
}
