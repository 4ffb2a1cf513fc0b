import { hostname } from "node:os"
import { jetstream } from "@nats-io/jetstream"
import { formatPublicKeyLine, keyId } from "../shared/protocol/keys.ts"
import { loadKeyFile } from "./cli/key-file.ts"
import { checkEnvelopeFit, envelopeLimit } from "./config/checks.ts"
import type { AgentConfig } from "./config/schema.ts"
import { createLogsSource } from "./sources/logs/index.ts"
import { openStateDb } from "./state/index.ts"
import { watchCollectorStatus } from "./transport/collector-status.ts"
import { connectNats, LogsTransport, SequenceAllocator } from "./transport/index.ts"

export type RunningAgent = {
  transport: LogsTransport
  /** stop reading, publish what is in hand (bounded wait), save acknowledged positions, close */
  stop(): Promise<void>
}

/** Starts the agent: state db, NATS connection, one logs source per `[[logs]]` entry, the batching transport. */
export async function startAgent(config: AgentConfig, log: (message: string) => void): Promise<RunningAgent> {
  // refuses a key others can read, or one that is not an Ed25519 PEM key, before anything starts
  const { privateKey, publicKeyRaw } = loadKeyFile(config.private_key_file)
  const db = openStateDb(config.state_dir)
  const sequence = new SequenceAllocator(db)
  const sources = config.logs.map((source) => createLogsSource({ config: source, db, log }))
  log(`connecting to ${config.nats.servers.join(", ")}`)
  const nc = await connectNats(config.nats.servers, `outpost-agent/${config.agent_id}`, {
    agent: config.agent_id,
    auth: config.nats.auth,
    tls: config.nats.tls,
    privateKey,
    publicKeyRaw,
    log,
  })
  const maxPayload = nc.info?.max_payload ?? 1024 * 1024
  const batch = { ...config.batch, max_bytes: envelopeLimit(config.batch.max_bytes, maxPayload) }
  try {
    // a line or read that cannot fit one envelope would be retried forever and hold its file back
    checkEnvelopeFit(config, maxPayload)
  } catch (error) {
    await nc.close()
    db.close()
    throw error
  }
  const transport = new LogsTransport({
    agent: config.agent_id,
    host: config.host ?? hostname(),
    keyId: keyId(publicKeyRaw),
    privateKey,
    js: jetstream(nc),
    sequence,
    batch,
    publishTimeoutMs: config.nats.publish_timeout_ms,
    log,
  })
  const transportDone = transport.run()
  const abort = new AbortController()
  const sourcesDone = Promise.all(
    sources.map((s) => s.run({ emit: (c) => transport.emit(c), signal: abort.signal })),
  )
  log(`agent '${config.agent_id}' running: ${sources.length} log source(s), key ${keyId(publicKeyRaw)}`)
  const collectorStatus = watchCollectorStatus({
    nc,
    agent: config.agent_id,
    keyId: keyId(publicKeyRaw),
    publicKeyLine: formatPublicKeyLine(publicKeyRaw, config.agent_id),
    log,
  })
  const progress = setInterval(() => {
    const s = transport.stats
    log(
      `shipped ${s.lines} lines in ${s.envelopes} envelopes (${(s.bytes / 1048576).toFixed(1)} MiB); in flight ${s.inFlight}, queued ${(s.pendingBytes / 1024).toFixed(0)} KiB, retries ${s.retries}${s.duplicateFirstPublish ? `, ids published by someone else first ${s.duplicateFirstPublish}` : ""}`,
    )
  }, 10_000)
  progress.unref()
  let stopping: Promise<void> | undefined
  return {
    transport,
    stop() {
      stopping ??= (async () => {
        clearInterval(progress)
        collectorStatus.stop()
        abort.abort()
        await Promise.all([sourcesDone, transport.close(10_000, transportDone)])
        await nc.drain().catch(() => {})
        db.close()
        log("agent stopped; positions of acknowledged lines are saved")
      })()
      return stopping
    },
  }
}
