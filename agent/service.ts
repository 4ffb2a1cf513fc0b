import { readFileSync } from "node:fs"
import { hostname } from "node:os"
import { jetstream } from "@nats-io/jetstream"
import { ConfigError } from "../shared/errors.ts"
import { keyId, loadPrivateKey } from "../shared/protocol/keys.ts"
import type { AgentConfig } from "./config/schema.ts"
import { createLogsSource } from "./sources/logs/index.ts"
import { openStateDb } from "./state/index.ts"
import { connectNats, LogsTransport, SequenceAllocator } from "./transport/index.ts"

export type RunningAgent = {
  transport: LogsTransport
  /** stop reading, publish what is in hand (bounded wait), save acknowledged positions, close */
  stop(): Promise<void>
}

// Room for headers and the manifest inside the server's max_payload.
const ENVELOPE_OVERHEAD = 64 * 1024

/** Starts the agent: state db, NATS connection, one logs source per `[[logs]]` entry, the batching transport. */
export async function startAgent(config: AgentConfig, log: (message: string) => void): Promise<RunningAgent> {
  let pem: string
  try {
    pem = readFileSync(config.private_key_file, "utf8")
  } catch (cause) {
    throw new ConfigError(
      "key_unreadable",
      `private_key_file: cannot read ${config.private_key_file}: ${(cause as Error).message}`,
    )
  }
  const { privateKey, publicKeyRaw } = loadPrivateKey(pem)
  const db = openStateDb(config.state_dir)
  const sequence = new SequenceAllocator(db)
  const sources = config.logs.map((source) => createLogsSource({ config: source, db, log }))
  log(`connecting to ${config.nats.servers.join(", ")}`)
  const nc = await connectNats(config.nats.servers, `outpost-agent/${config.agent_id}`)
  const maxPayload = nc.info?.max_payload ?? 1024 * 1024
  const batch = {
    ...config.batch,
    max_bytes: Math.min(config.batch.max_bytes, maxPayload - ENVELOPE_OVERHEAD),
  }
  for (const source of config.logs) {
    if (source.read_chunk_bytes > batch.max_bytes) {
      throw new ConfigError(
        "config_invalid",
        `logs '${source.name}': read_chunk_bytes ${source.read_chunk_bytes} exceeds the envelope limit ${batch.max_bytes} (server max_payload ${maxPayload})`,
      )
    }
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
  const progress = setInterval(() => {
    const s = transport.stats
    log(
      `shipped ${s.lines} lines in ${s.envelopes} envelopes (${(s.bytes / 1048576).toFixed(1)} MiB); in flight ${s.inFlight}, queued ${(s.pendingBytes / 1024).toFixed(0)} KiB, retries ${s.retries}`,
    )
  }, 10_000)
  progress.unref()
  let stopping: Promise<void> | undefined
  return {
    transport,
    stop() {
      stopping ??= (async () => {
        clearInterval(progress)
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
