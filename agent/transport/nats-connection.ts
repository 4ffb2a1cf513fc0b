import type { KeyObject } from "node:crypto"
import {
  type ConnectionOptions,
  connect,
  errors,
  type NatsConnection,
  nkeyAuthenticator,
} from "@nats-io/transport-node"
import { natsAuthOptions, natsTlsOptions } from "../../shared/config/nats-options.ts"
import type { AgentNatsAuth, NatsTls } from "../../shared/config/nats-schema.ts"
import { TransportError } from "../../shared/errors.ts"
import { formatPublicKeyLine, keyId } from "../../shared/protocol/keys.ts"
import { agentInboxPrefix, natsUserSeed } from "../../shared/protocol/nkey.ts"

/** Who the agent is to NATS: its id (inbox prefix), how it authenticates, TLS, and where to report refusals. */
export type AgentNatsOptions = {
  agent: string
  auth: AgentNatsAuth
  tls?: NatsTls
  /** the agent's signing key: its NATS identity under `agent_key` auth */
  privateKey: KeyObject
  publicKeyRaw: Uint8Array
  log(message: string): void
  /** gives up waiting for the first connection (the promise then rejects) */
  signal?: AbortSignal
}

// Every attempt of a refused agent is an auth error in nats-server's log: try less often.
const RETRY_MS = 500
const REFUSED_RETRY_MS = 2000
const REPORT_EVERY_MS = 60_000
const CONNECT_TIMEOUT_MS = 10_000

/**
 * Connects to NATS and keeps reconnecting forever: while NATS is down, or refuses this agent (key not enrolled
 * yet), the agent waits and says why once a minute; it never exits. Without `options` it connects anonymously.
 */
export async function connectNats(
  servers: string[],
  name: string,
  options?: AgentNatsOptions,
): Promise<NatsConnection> {
  let refused = false
  const report = rateLimited(REPORT_EVERY_MS)
  const connectionOptions: ConnectionOptions = {
    servers,
    name,
    maxReconnectAttempts: -1,
    // nats.js gives up after two authorization errors in a row unless told otherwise.
    ignoreAuthErrorAbort: true,
    reconnectDelayHandler: () => (refused ? REFUSED_RETRY_MS : RETRY_MS) + Math.floor(Math.random() * 100),
    pingInterval: 10_000,
    timeout: CONNECT_TIMEOUT_MS,
    ...(options ? identityOptions(options) : {}),
  }
  const describe = (error: unknown) => {
    if (error instanceof errors.AuthorizationError) {
      refused = true
      if (options) report("refused", () => options.log(refusalMessage(options, error.message)))
    } else if (options) {
      // Under Bun a server refusing a TLS client for lack of a certificate shows up only as a timeout.
      const hint =
        error instanceof errors.TimeoutError && options.tls && !options.tls.cert_file
          ? " (if the server requires client certificates, set nats.tls.cert_file and key_file)"
          : ""
      report("unreachable", () =>
        options.log(
          `cannot connect to NATS at ${servers.join(", ")}: ${(error as Error).message}${hint}; retrying`,
        ),
      )
    }
  }
  // The first connection is retried here rather than by nats.js (waitOnFirstConnect), so that every failure
  // can be reported; after it, nats.js reconnects by itself and reports through status().
  for (;;) {
    try {
      const nc = await connect({ ...connectionOptions, waitOnFirstConnect: false })
      void watch(nc, describe, () => {
        if (refused) options?.log(`NATS accepted agent '${options.agent}' again`)
        refused = false
      })
      if (refused) options?.log(`NATS accepted agent '${options.agent}'`)
      refused = false
      return nc
    } catch (error) {
      describe(error)
      await abortableSleep(connectionOptions.reconnectDelayHandler?.() ?? RETRY_MS, options?.signal)
      if (options?.signal?.aborted) {
        throw new TransportError("aborted", `gave up connecting to NATS at ${servers.join(", ")}`, {
          cause: error,
        })
      }
    }
  }
}

function identityOptions(options: AgentNatsOptions): ConnectionOptions {
  const auth =
    options.auth.type === "agent_key"
      ? // A server without auth sends no nonce; nats.js then sends no signature and the server ignores the key.
        { authenticator: nkeyAuthenticator(natsUserSeed(options.privateKey)) }
      : natsAuthOptions(options.auth)
  const tls = natsTlsOptions(options.tls)
  return { ...auth, ...(tls ? { tls } : {}), inboxPrefix: agentInboxPrefix(options.agent) }
}

function refusalMessage(options: AgentNatsOptions, reason: string): string {
  const head = `NATS refused agent '${options.agent}' (${reason.replace(/^'|'$/g, "")})`
  if (options.auth.type !== "agent_key") {
    return `${head}: check nats.auth (type "${options.auth.type}") in the agent's config against the NATS server's users`
  }
  const line = formatPublicKeyLine(options.publicKeyRaw, options.agent)
  return `${head}: its key ${keyId(options.publicKeyRaw)} is not enrolled on the collector; run there: outpost-collector enroll --config <collector.toml> '${line}'`
}

async function watch(nc: NatsConnection, onError: (error: unknown) => void, onReconnect: () => void) {
  for await (const status of nc.status()) {
    // Permission violations are reported to the publish that caused them; only refusals matter here.
    if (status.type === "error" && status.error instanceof errors.AuthorizationError) onError(status.error)
    else if (status.type === "reconnect") onReconnect()
  }
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener("abort", done)
      resolve()
    }
    signal?.addEventListener("abort", done, { once: true })
  })
}

/** Runs `emit` for a kind of event at most once per `intervalMs`. */
function rateLimited(intervalMs: number): (kind: string, emit: () => void) => void {
  const last = new Map<string, number>()
  return (kind, emit) => {
    const now = Date.now()
    if (now - (last.get(kind) ?? Number.NEGATIVE_INFINITY) < intervalMs) return
    last.set(kind, now)
    emit()
  }
}
