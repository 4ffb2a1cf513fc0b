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
import { createRepeatLimiter, type LogLevel } from "../../shared/logger.ts"
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
  /** where it speaks: problems (unreachable, refused, lost) at warn, connects and reconnects at info */
  log(message: string, level?: LogLevel): void
  /** hears every change of the connection's state (for /health and /metrics) */
  onState?(state: NatsState): void
  /** gives up waiting for the first connection (the promise then rejects with an AbortError) */
  signal?: AbortSignal
  /** how often a lasting problem is said again; default 30 s */
  reportEveryMs?: number
}

/** Whether the agent is connected to NATS, since when, and why not. */
export type NatsState = {
  connected: boolean
  /** ms since the epoch: when it connected, or when the connection was lost (or the first attempt began) */
  since: number
  /** the server it is or was last connected to */
  server?: string
  /** why it is not connected: "connection refused", an auth refusal, a TLS error, "connection closed" */
  reason?: string
  /** connection attempts that failed (or began, while nats.js reconnects) since it was last connected */
  attempts?: number
  /** the agent closed the connection itself (stopping): not a loss */
  closed?: boolean
}

/** The error a start-up gives when its signal aborted it (name "AbortError", as fetch and DOM APIs have it). */
export class AbortError extends Error {
  override readonly name = "AbortError"
}

// Every attempt of a refused agent is an auth error in nats-server's log: try less often.
const RETRY_MS = 500
const REFUSED_RETRY_MS = 2000
const REPORT_EVERY_MS = 30_000
const CONNECT_TIMEOUT_MS = 10_000

/**
 * Connects to NATS and keeps reconnecting forever: while NATS is down, or refuses this agent (key not enrolled
 * yet), the agent waits and says why at once, then every 30 s while it lasts; it never exits. Without `options`
 * it connects anonymously and says nothing.
 */
export async function connectNats(
  servers: string[],
  name: string,
  options?: AgentNatsOptions,
): Promise<NatsConnection> {
  let refused = false
  const repeat = createRepeatLimiter(options?.reportEveryMs ?? REPORT_EVERY_MS)
  const report = (kind: string, message: string, level: LogLevel = "warn") =>
    repeat(kind, (m) => options?.log(m, level), message)
  let state: NatsState = { connected: false, since: Date.now(), reason: "connecting", attempts: 0 }
  const setState = (next: NatsState) => {
    state = next
    options?.onState?.(next)
  }
  setState(state)
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
  /** Reports a failed connection (attempt) and returns its reason, short, for /health. */
  const describe = (error: unknown): string => {
    const message = (error as Error).message ?? String(error)
    if (error instanceof errors.AuthorizationError) {
      refused = true
      if (options) report("refused", refusalMessage(options, message))
      return `refused: ${message.replace(/^'|'$/g, "")}`
    }
    // Under Bun a server refusing a TLS client for lack of a certificate shows up only as a timeout.
    const hint =
      error instanceof errors.TimeoutError && options?.tls && !options.tls.cert_file
        ? " (if the server requires client certificates, set nats.tls.cert_file and key_file)"
        : ""
    report("unreachable", `cannot connect to NATS at ${servers.join(", ")}: ${message}${hint}; retrying`)
    return `${message}${hint}`
  }
  const gaveUp = (cause: unknown) =>
    new AbortError(`gave up connecting to NATS at ${servers.join(", ")}`, { cause })
  const signal = options?.signal
  const aborted = new Promise<void>((resolve) => {
    if (signal?.aborted) resolve()
    signal?.addEventListener("abort", () => resolve(), { once: true })
  })
  // The first connection is retried here rather than by nats.js (waitOnFirstConnect), so that every failure
  // can be reported; after it, nats.js reconnects by itself and reports through status().
  let last: unknown
  for (;;) {
    if (signal?.aborted) throw gaveUp(last)
    const attempt = connect({ ...connectionOptions, waitOnFirstConnect: false })
    try {
      // an attempt may take up to CONNECT_TIMEOUT_MS (a silent address, a TLS handshake): an abort does not wait
      const nc = await Promise.race([attempt, aborted.then(() => undefined)])
      if (!nc) {
        attempt.then((late) => late.close()).catch(() => {})
        throw gaveUp(last)
      }
      const server = nc.getServer()
      setState({ connected: true, since: Date.now(), server })
      let cause: string | undefined // an error reported just before the connection dropped
      void watch(nc, {
        error: (error) => {
          const reason = describe(error)
          if (state.connected) cause = reason
          else setState({ ...state, reason })
        },
        disconnect: (lost) => {
          const reason = cause ?? "connection closed"
          cause = undefined
          setState({ connected: false, since: Date.now(), server: lost, reason, attempts: 0 })
          report("disconnected", `lost the NATS connection to ${lost} (${reason}); reconnecting`)
        },
        reconnecting: () => {
          setState({ ...state, attempts: (state.attempts ?? 0) + 1 })
          const down = Math.round((Date.now() - state.since) / 1000)
          report(
            "disconnected",
            `still not connected to NATS at ${servers.join(", ")} after ${down} s (${state.reason}); reconnecting`,
          )
        },
        reconnect: (back) => {
          const down = ((Date.now() - state.since) / 1000).toFixed(1)
          setState({ connected: true, since: Date.now(), server: back })
          if (refused && options) options.log(`NATS accepted agent '${options.agent}' again`, "info")
          else report("reconnected", `reconnected to NATS at ${back} after ${down} s`, "info")
          refused = false
        },
        close: () => {
          setState({
            connected: false,
            since: Date.now(),
            server,
            reason: "closed by the agent",
            closed: true,
          })
        },
      })
      if (refused && options) options.log(`NATS accepted agent '${options.agent}'`, "info")
      refused = false
      return nc
    } catch (error) {
      if (error instanceof AbortError) throw error
      last = error
      setState({ ...state, reason: describe(error), attempts: (state.attempts ?? 0) + 1 })
      await abortableSleep(connectionOptions.reconnectDelayHandler?.() ?? RETRY_MS, signal)
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

type StatusHandlers = {
  error(error: unknown): void
  disconnect(server: string): void
  reconnecting(): void
  reconnect(server: string): void
  close(): void
}

async function watch(nc: NatsConnection, on: StatusHandlers) {
  for await (const status of nc.status()) {
    // Permission violations are reported to the publish that caused them; only refusals matter here.
    if (status.type === "error" && status.error instanceof errors.AuthorizationError) on.error(status.error)
    else if (status.type === "disconnect") on.disconnect(status.server)
    else if (status.type === "reconnecting") on.reconnecting()
    else if (status.type === "reconnect") on.reconnect(status.server)
    else if (status.type === "close") on.close()
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
