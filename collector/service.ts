import { mkdirSync } from "node:fs"
import { isAbsolute, join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { checkCollectorConfig } from "./config/checks.ts"
import type { CollectorConfig } from "./config/schema.ts"
import { resolveHttpAccess } from "./http/access-config.ts"
import { createHttpApp } from "./http/app.ts"
import { serveHttp } from "./http/server.ts"
import { serveAgentStatus } from "./ingest/agent-status.ts"
import { loadEnrollment } from "./ingest/enrollment.ts"
import { EnrollmentWatch, keyCount } from "./ingest/enrollment-watch.ts"
import { startIngestLoop } from "./ingest/ingest-loop.ts"
import { Quarantine } from "./ingest/quarantine.ts"
import { createRejectLog } from "./ingest/reject-log.ts"
import { StorageHealth } from "./ingest/storage-health.ts"
import { ensureStreamAndConsumer } from "./ingest/stream-setup.ts"
import { StreamWatch } from "./ingest/stream-watch.ts"
import { createCollectorMetrics } from "./metrics/collector-metrics.ts"
import { connectCollector, localNatsOptions } from "./nats/connect.ts"
import { loadEnrolledAgents } from "./nats/enrolled-agents.ts"
import { type LocalNatsServer, startLocalNatsServer } from "./nats/local-server.ts"
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

/** Starts every part of the collector from a validated config. */
export async function startCollector(
  config: CollectorConfig,
  log: (message: string) => void,
): Promise<RunningCollector> {
  mkdirSync(config.data_dir, { recursive: true })
  const enrollment = loadEnrollment(config.enrolled_keys)
  log(`enrolled ${enrollment.size} agent(s), ${keyCount(enrollment)} key(s) from ${config.enrolled_keys}`)
  const duckdbPath = isAbsolute(config.duckdb_file)
    ? config.duckdb_file
    : join(config.data_dir, config.duckdb_file)
  checkCollectorConfig(config)
  const writer = await DuckDbWriter.open(duckdbPath, {
    memoryLimitMb: config.duckdb_memory_limit_mb,
    // Older envelopes have left the stream (max_age), so they cannot be delivered again.
    rememberEnvelopesMs: config.stream.max_age_s > 0 ? (config.stream.max_age_s + 86_400) * 1000 : 0,
  })
  let local: LocalNatsServer | undefined
  try {
    const metrics = createCollectorMetrics()
    if (!config.nats.url) {
      local = await startLocalNatsServer(
        localNatsOptions(config, loadEnrolledAgents(config.enrolled_keys), log, {
          onRestart: () => metrics.localNatsRestarts(),
        }),
      )
    }
    const natsUrl = config.nats.url ?? (local as LocalNatsServer).url
    const nc = await connectCollector(config, local, log)
    const jsm = await jetstreamManager(nc)
    await ensureStreamAndConsumer(jsm, config)
    const js = jetstream(nc)
    const consumer = await js.consumers.get(config.stream.name, config.consumer.durable_name)
    const abort = new AbortController()
    let natsUp = true
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === "disconnect") natsUp = false
        if (s.type === "reconnect") natsUp = true
      }
    })()
    const quarantine = new Quarantine({
      js,
      jsm,
      stream: config.quarantine.stream,
      subjectRoot: config.quarantine.subject_root,
    })
    const storage = new StorageHealth(log, (writable) => metrics.storageWritable(writable ? 1 : 0))
    metrics.storageWritable(1)
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
    streamWatch.start()
    const enrollmentWatch = new EnrollmentWatch({
      path: config.enrolled_keys,
      initial: enrollment,
      log,
      onReload: (result) => metrics.enrollmentReloads(1, { result }),
      onChange: async (next) => {
        metrics.enrolledKeys(keyCount(next))
        // The local nats-server lets a newly enrolled agent in (its NKEY user) before its quarantine is replayed.
        await local?.setAgents(loadEnrolledAgents(config.enrolled_keys))
        // Not awaited: a long replay (or one waiting for storage) must not hold back the next reload, which may
        // be a revocation.
        replaySoon("enrollment changed")
      },
    })
    metrics.enrolledKeys(keyCount(enrollment))
    enrollmentWatch.start()
    const loop = startIngestLoop(
      {
        nc,
        consumer,
        writer,
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
        logReject: createRejectLog(log),
      },
      abort.signal,
    )
    const done = loop.done
    let loopRunning = true
    void done.finally(() => {
      loopRunning = false
    })
    async function replay(why: string): Promise<number> {
      try {
        const before = metrics.registry.value("outpost_collector_quarantine_ingested_total")
        const seen = await loop.replayQuarantine()
        const ingested = metrics.registry.value("outpost_collector_quarantine_ingested_total") - before
        if (seen > 0)
          log(`quarantine replay (${why}): ${ingested} of ${seen} envelope(s) ingested or already stored`)
        await refreshQuarantineGauges()
        return seen
      } catch (error) {
        log(`quarantine replay (${why}) failed: ${(error as Error).message}`)
        return 0
      }
    }
    let replaying: Promise<number> | undefined
    let replayAgain = false
    /** One replay at a time; changes during a replay get one more after it. */
    function replaySoon(why: string): void {
      if (replaying) {
        replayAgain = true
        return
      }
      replaying = replay(why).finally(() => {
        replaying = undefined
        if (replayAgain) {
          replayAgain = false
          replaySoon(why)
        }
      })
    }
    async function refreshQuarantineGauges() {
      try {
        const totals = await quarantine.totals()
        metrics.quarantineBytes(totals.bytes)
        const byReason = new Map<string, number>()
        const byAgent = new Map<string, number>()
        for (const g of await quarantine.groups()) {
          byReason.set(g.reason, (byReason.get(g.reason) ?? 0) + g.messages)
          byAgent.set(g.agent, (byAgent.get(g.agent) ?? 0) + g.messages)
        }
        quarantinedByAgent = byAgent
        for (const reason of ["unknown_agent", "unknown_key", "oversized", "unwritable"])
          metrics.quarantineMessages(byReason.get(reason) ?? 0, { reason })
      } catch {
        // NATS down: the gauges keep their last values, /health says why
      }
    }
    let quarantinedByAgent = new Map<string, number>()
    const statusSub = serveAgentStatus({
      nc,
      enrollment: () => enrollmentWatch.enrollment,
      quarantined: (agent) => quarantinedByAgent.get(agent) ?? 0,
    })
    const gauges = setInterval(() => void refreshQuarantineGauges(), 5000)
    gauges.unref()
    // Limits may have been raised since the last run: give the quarantine a chance at once.
    replaySoon("start")
    const problems = () => {
      const out: string[] = []
      if (!natsUp) out.push("NATS: disconnected")
      if (local && !local.up) out.push("NATS: the local nats-server is down, restarting it")
      if (!loopRunning) out.push("ingest: stopped")
      if (storage.problem) out.push(`storage: ${storage.problem}`)
      if (streamWatch.problem) out.push(`stream: ${streamWatch.problem}`)
      return out
    }
    const access = resolveHttpAccess(config.http, log)
    const queries = await openQueryPool(writer.instance, {
      maxConcurrent: config.sql.max_concurrent,
      maxQueued: config.sql.max_queued,
      timeoutMs: config.sql.timeout_ms,
      maxResultBytes: config.sql.max_result_bytes,
      maxQueryChars: config.sql.max_query_chars,
      log,
    })
    const app = createHttpApp({
      queries,
      access,
      metrics,
      startedAt: Date.now(),
      problems,
      quarantine: async () => {
        try {
          return { ...(await quarantine.totals()), groups: await quarantine.groups() }
        } catch {
          return null
        }
      },
      consumerLag: async () => {
        try {
          const info = await jsm.consumers.info(config.stream.name, config.consumer.durable_name)
          return { pending: info.num_pending, ackPending: info.num_ack_pending }
        } catch {
          return null
        }
      },
    })
    const server = serveHttp(app, { host: config.http.host, port: config.http.port, access, queries })
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
      problems,
      reloadEnrollment: () => enrollmentWatch.reload("signal"),
      replayQuarantine: () => replay("command"),
      discardQuarantine: async (filter) => {
        const n = await quarantine.discard(filter)
        log(
          `discarded ${n} quarantined envelope(s)${filter?.agent ? ` of agent '${filter.agent}'` : ""}${filter?.reason ? ` (${filter.reason})` : ""}`,
        )
        await refreshQuarantineGauges()
        return n
      },
      stop() {
        stopping ??= (async () => {
          clearInterval(progress)
          clearInterval(gauges)
          statusSub.unsubscribe()
          streamWatch.stop()
          enrollmentWatch.stop()
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
  } catch (error) {
    // Never leave a nats-server or an open database behind a collector that failed to start.
    await local?.stop().catch(() => {})
    await writer.close().catch(() => {})
    throw error
  }
}
