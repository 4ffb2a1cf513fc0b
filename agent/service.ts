import { hostname } from "node:os"
import { jetstream } from "@nats-io/jetstream"
import type { NatsConnection } from "@nats-io/transport-node"
import type { Logger, LogLevel } from "../shared/logger.ts"
import { formatPublicKeyLine, keyId } from "../shared/protocol/keys.ts"
import { VERSION } from "../shared/version.ts"
import { loadKeyFile } from "./cli/key-file.ts"
import { checkEnvelopeFit, envelopeLimit } from "./config/checks.ts"
import type { AgentConfig } from "./config/schema.ts"
import { type AgentHttpServer, createAgentStatus, serveAgentHttp } from "./http/index.ts"
import { createHeartbeatSnapshot } from "./kinds/heartbeat-snapshot.ts"
import { type OutboxKinds, outboxKindsOf, startOutboxKinds } from "./kinds/outbox-kinds.ts"
import { urlChecksRunHere } from "./kinds/urls.ts"
import { type AgentMetrics, createAgentMetrics } from "./metrics/agent-metrics.ts"
import { agentPreviewHandler } from "./preview/index.ts"
import { createLogsSource } from "./sources/logs/index.ts"
import type { LogChunk, Source } from "./sources/source.ts"
import { openStateDb } from "./state/index.ts"
import { watchCollectorStatus } from "./transport/collector-status.ts"
import {
  AbortError,
  connectNats,
  createShippingSummary,
  LogsTransport,
  SequenceAllocator,
} from "./transport/index.ts"

export type RunningAgent = {
  transport: LogsTransport
  metrics: AgentMetrics
  /** where /health, /metrics and the files page are served (absent with `[http] enabled = false`) */
  http?: { url: string; port: number }
  /** stop reading, publish what is in hand (bounded wait), save acknowledged positions, close */
  stop(): Promise<void>
}

export type StartAgentOptions = {
  /** aborted while start-up waits for NATS: what was opened is closed and startAgent rejects with an AbortError */
  signal?: AbortSignal
}

/** A line on what was shipped, at most this often, and only when something was. */
const SUMMARY_EVERY_MS = 60_000

/** A `log(message, level)` for the transport modules, on `logger`. */
const leveled =
  (logger: Logger) =>
  (message: string, level: LogLevel = "info") =>
    logger[level](message)

/**
 * Starts the agent: state db, HTTP server, NATS connection (waits for it, saying why while it cannot connect),
 * one logs source per `[[logs]]` entry, the batching transport. A port that cannot be had or a config that does
 * not fit the server's limits rejects after closing what was opened.
 */
export async function startAgent(
  config: AgentConfig,
  logger: Logger,
  options: StartAgentOptions = {},
): Promise<RunningAgent> {
  const { signal } = options
  if (signal?.aborted) throw new AbortError("stopped before the agent started")
  // refuses a key others can read, or one that is not an Ed25519 PEM key, before anything starts
  const { privateKey, publicKeyRaw } = loadKeyFile(config.private_key_file)
  const kid = keyId(publicKeyRaw)
  const names = config.logs.map((s) => s.name)
  const urlChecks = urlChecksRunHere(config)
  const metrics = createAgentMetrics(names, urlChecks, outboxKindsOf(config))
  const status = createAgentStatus({ sources: names })
  const natsLogger = logger.child("nats")
  const db = openStateDb(config.state_dir)
  let http: AgentHttpServer | undefined
  let nc: NatsConnection | undefined
  let transport: LogsTransport | undefined
  let sources: Source[] = []
  let kinds: OutboxKinds | undefined
  let duplicatesCounted = 0
  try {
    sources = config.logs.map((source) =>
      createLogsSource({ config: source, db, logger: logger.child(`logs[${source.name}]`) }),
    )
    kinds = startOutboxKinds(config, logger, {
      urlEvents: {
        result: (r) => metrics.urls?.result(r.check, r.outcome),
        started: (lateMs) => metrics.urls?.started(lateMs),
      },
      snapshot: createHeartbeatSnapshot({
        config,
        status,
        sources: () => sources,
        urlChecks: urlChecks.length,
        outbox: () => kinds?.outbox,
      }),
    })
    const preview = agentPreviewHandler(config, db, logger)
    if (config.http.enabled) {
      // before NATS: /health tells why the agent waits
      http = serveAgentHttp(
        {
          agent: config.agent_id,
          version: VERSION,
          startedAt: Date.now(),
          status,
          sources: () =>
            sources.map((s) => ({ name: s.name, read: s.status?.() ?? { patterns: [], files: [] } })),
          urls: () => kinds?.urls?.status(),
          metrics: () => renderMetrics(),
        },
        { ...config.http, preview },
      )
      logger.info(
        `serving /health, /metrics${preview ? ", /preview" : ""} and the files page at ${http.url}/`,
      )
    }
    let connected = false
    natsLogger.info(`connecting to NATS at ${config.nats.servers.join(", ")}`)
    nc = await connectNats(config.nats.servers, `outpost-agent/${config.agent_id}`, {
      agent: config.agent_id,
      auth: config.nats.auth,
      tls: config.nats.tls,
      privateKey,
      publicKeyRaw,
      log: leveled(natsLogger),
      signal,
      onState: (s) => {
        status.setNats(s)
        metrics.natsConnected(s.connected ? 1 : 0)
        if (connected && !s.connected && !s.closed) metrics.natsDisconnects() // lost, not closed at stop
        connected = s.connected
      },
    })
    natsLogger.info(`connected to NATS at ${nc.getServer()}`)
    // a line or read that cannot fit one envelope would be retried forever and hold its file back
    checkEnvelopeFit(config, nc.info?.max_payload ?? 1024 * 1024)
  } catch (error) {
    await nc?.close().catch(() => {})
    await kinds?.stop(0)
    await http?.stop()
    db.close()
    if (signal?.aborted && !(error instanceof AbortError)) {
      throw new AbortError("stopped before the agent started", { cause: error })
    }
    throw error
  }

  const maxPayload = nc.info?.max_payload ?? 1024 * 1024
  // one allocator for every transport: seq never repeats for this agent, whatever the kind
  const sequence = new SequenceAllocator(db)
  const js = jetstream(nc)
  const host = config.host ?? hostname()
  const published = (bytes: number, seconds: number) => {
    const at = Date.now()
    metrics.envelopesPublished()
    metrics.envelopeBytes(bytes)
    metrics.publishSeconds(seconds)
    metrics.lastPublish(at / 1000)
    status.published(at)
  }
  const retried = (error?: unknown) => {
    metrics.publishRetries()
    status.publishFailed(Date.now(), error)
  }
  const kindOptions = (kind: string) => ({
    agent: config.agent_id,
    host,
    keyId: kid,
    privateKey,
    js,
    sequence,
    maxBytes: envelopeLimit(900 * 1024, maxPayload),
    publishTimeoutMs: config.nats.publish_timeout_ms,
    logger: logger.child(`transport[${kind}]`),
    events: {
      published: (_entries: unknown, bytes: number, seconds: number) => published(bytes, seconds),
      retried,
    },
  })
  kinds?.publish(kindOptions)
  const running = new LogsTransport({
    agent: config.agent_id,
    host,
    keyId: kid,
    privateKey,
    js,
    sequence,
    batch: { ...config.batch, max_bytes: envelopeLimit(config.batch.max_bytes, maxPayload) },
    publishTimeoutMs: config.nats.publish_timeout_ms,
    log: leveled(logger.child("transport")),
    events: {
      published(chunks, bytes, seconds) {
        published(bytes, seconds)
        for (const c of chunks) metrics.linesShipped(c.lines, c.source)
      },
      retried,
    },
  })
  transport = running
  const transportDone = running.run()
  const emit = (chunk: LogChunk) => {
    metrics.bytesRead(chunk.endOffset - chunk.startOffset, chunk.source)
    metrics.linesRead(chunk.lines, chunk.source)
    return running.emit(chunk)
  }
  const abort = new AbortController()
  const sourcesDone = Promise.all(sources.map((s) => runSource(s, emit, abort.signal)))
  logger.info(
    `agent '${config.agent_id}' running: ${sources.length} log source(s), ${urlChecks.length} URL check(s), key ${kid}`,
  )
  const collectorStatus = watchCollectorStatus({
    nc,
    agent: config.agent_id,
    keyId: kid,
    publicKeyLine: formatPublicKeyLine(publicKeyRaw, config.agent_id),
    log: leveled(logger.child("collector")),
  })
  const summary = createShippingSummary(running.stats)
  const progress = setInterval(() => {
    const line = summary()
    if (line) logger.info(line)
  }, SUMMARY_EVERY_MS)
  progress.unref()

  let stopping: Promise<void> | undefined
  return {
    transport: running,
    metrics,
    ...(http ? { http: { url: http.url, port: http.port } } : {}),
    stop() {
      stopping ??= (async () => {
        clearInterval(progress)
        collectorStatus.stop()
        abort.abort()
        await Promise.all([sourcesDone, running.close(10_000, transportDone), kinds?.stop(10_000)])
        const last = summary()
        if (last) logger.info(last)
        await nc.drain().catch(() => {})
        await http?.stop()
        db.close()
        logger.info("agent stopped; positions of acknowledged lines are saved")
      })()
      return stopping
    },
  }

  /** Runs a source; a failure stops that source only, and /health says so. */
  async function runSource(s: Source, emitChunk: (c: LogChunk) => Promise<void>, stop: AbortSignal) {
    status.setSource(s.name, { state: "running" })
    metrics.sourceUp(1, { source: s.name })
    try {
      await s.run({ emit: emitChunk, signal: stop })
      status.setSource(s.name, { state: "stopped" })
    } catch (error) {
      const message = (error as Error).message ?? String(error)
      status.setSource(s.name, { state: "failed", error: message })
      metrics.sourceUp(0, { source: s.name })
      logger.child(`logs[${s.name}]`).error(`stopped by an error: ${message}`)
    }
  }

  function renderMetrics(): string {
    const stats = transport?.stats
    if (stats && stats.duplicateFirstPublish > duplicatesCounted) {
      metrics.duplicateFirstPublish(stats.duplicateFirstPublish - duplicatesCounted)
      duplicatesCounted = stats.duplicateFirstPublish
    }
    return metrics.render({
      files: sources.flatMap((s) => s.status?.().files ?? []),
      queuedBytes: stats?.pendingBytes ?? 0,
      inFlight: stats?.inFlight ?? 0,
      ...(kinds?.urls ? { urls: { checks: kinds.urls.source.status().checks } } : {}),
      ...(kinds ? { outbox: kinds.gauges() } : {}),
    })
  }
}
