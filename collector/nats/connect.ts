import {
  type ConnectionOptions,
  connect,
  errors,
  type NatsConnection,
  type TlsOptions,
} from "@nats-io/transport-node"
import { abortableSleep } from "../../shared/abortable-sleep.ts"
import { natsAuthOptions, natsTlsOptions } from "../../shared/config/nats-options.ts"
import { ConfigError, OutpostError, TransportError } from "../../shared/errors.ts"
import { safeText } from "../../shared/log-text.ts"
import { createRepeatLimiter, type Logger } from "../../shared/logger.ts"
import type { CollectorConfig } from "../config/schema.ts"
import type { NatsAgent } from "./auth-config.ts"
import type { LocalNatsOptions, LocalNatsServer } from "./local-server.ts"

const RETRY_MS = 500
const REPORT_EVERY_MS = 60_000

/** How the collector connects: to `nats.url` with `nats.auth` / `nats.tls`, or to its local server as its own user. */
export function collectorConnectOptions(config: CollectorConfig, local?: LocalNatsServer): ConnectionOptions {
  // ignoreAuthErrorAbort: a server briefly refusing (mid-reload) must not close the connection for good.
  const base: ConnectionOptions = {
    name: "outpost-collector",
    maxReconnectAttempts: -1,
    ignoreAuthErrorAbort: true,
  }
  if (config.nats.url) {
    if (config.nats.local_tls) {
      throw new ConfigError(
        "config_invalid",
        "nats.local_tls: applies only to the local nats-server (no nats.url)",
      )
    }
    const tls = natsTlsOptions(config.nats.tls)
    return {
      ...base,
      servers: config.nats.url,
      ...natsAuthOptions(config.nats.auth),
      ...(tls ? { tls } : {}),
    }
  }
  if (!local) throw new Error("no nats.url and no local nats-server")
  if (config.nats.auth.type !== "none") {
    throw new ConfigError(
      "config_invalid",
      "nats.auth: applies only to an external NATS (nats.url); on its local nats-server the collector uses its generated password",
    )
  }
  const tls = localClientTls(config)
  return { ...base, servers: local.url, user: local.user, pass: local.password, ...(tls ? { tls } : {}) }
}

/**
 * Options for `startLocalNatsServer` from the config. Unless `onFatal` is given, a nats-server that cannot be
 * restarted makes the process exit 1, so that the service manager restarts the whole collector.
 */
export function localNatsOptions(
  config: CollectorConfig,
  agents: NatsAgent[],
  log: Logger,
  hooks: Partial<Pick<LocalNatsOptions, "onFatal" | "onRestart">> = {},
): LocalNatsOptions {
  const tls = config.nats.local_tls
  if (tls?.verify_clients && !tls.ca_file) {
    throw new ConfigError(
      "config_invalid",
      "nats.local_tls.ca_file: required with verify_clients = true (the CA client certificates must be signed by)",
    )
  }
  return {
    dataDir: config.data_dir,
    host: config.nats.local_host,
    port: config.nats.local_port,
    maxPayloadBytes: config.nats.local_max_payload_bytes,
    agents,
    tls,
    log,
    onRestart: hooks.onRestart,
    onFatal:
      hooks.onFatal ??
      ((error) => {
        log.error(`${error.message}; exiting so that the service manager restarts the collector`)
        process.exit(1)
      }),
  }
}

export type ConnectCollectorOptions = {
  /** after each failed attempt, with the reason (feeds /health while the collector starts) */
  onRetry?(reason: string): void
  /** gives up waiting (start-up interrupted by SIGTERM): rejects with code `aborted` */
  signal?: AbortSignal
  /** how often "cannot connect" is logged again while it lasts (default once a minute) */
  reportEveryMs?: number
}

/**
 * Connects the collector. While NATS cannot be reached it retries forever, saying so at once and then once a
 * minute per reason; a server that refuses its credentials or a certificate it cannot verify is a configuration
 * error and fails at once.
 */
export async function connectCollector(
  config: CollectorConfig,
  local: LocalNatsServer | undefined,
  log: Logger,
  options: ConnectCollectorOptions = {},
): Promise<NatsConnection> {
  const connectOptions = collectorConnectOptions(config, local)
  const servers = String(connectOptions.servers)
  const report = createRepeatLimiter(options.reportEveryMs ?? REPORT_EVERY_MS)
  const since = Date.now()
  let failures = 0
  for (;;) {
    if (options.signal?.aborted) throw new OutpostError("aborted", `gave up connecting to NATS at ${servers}`)
    try {
      const nc = await connect({ ...connectOptions, waitOnFirstConnect: false })
      if (failures > 0) {
        log.info(`connected to NATS at ${servers} after ${Math.round((Date.now() - since) / 1000)} s`, {
          attempts: failures + 1,
        })
      } else log.info(`connected to NATS at ${servers}`)
      return nc
    } catch (error) {
      const message = safeText((error as Error).message)
      if (error instanceof errors.AuthorizationError) {
        throw new TransportError(
          "nats_refused",
          `NATS at ${servers} refused the collector (${message}): check nats.auth`,
          { cause: error },
        )
      }
      if (isTlsError(error)) {
        throw new TransportError(
          "nats_tls",
          `TLS to NATS at ${servers} failed: ${message}; set nats.tls.ca_file (or nats.local_tls.ca_file) to the CA that signed the server's certificate`,
          { cause: error },
        )
      }
      failures++
      options.onRetry?.(message)
      report(message, (line) => log.warn(line), `cannot connect to NATS at ${servers}: ${message}; retrying`)
      if (options.signal) await abortableSleep(RETRY_MS, options.signal)
      else await Bun.sleep(RETRY_MS)
    }
  }
}

// The collector's client TLS for its own server: nats.tls if given, else trust the local CA (or the
// self-signed server certificate) and, when the server verifies clients, present the server's certificate.
function localClientTls(config: CollectorConfig): TlsOptions | undefined {
  const local = config.nats.local_tls
  if (config.nats.tls || !local) return natsTlsOptions(config.nats.tls)
  return natsTlsOptions(
    {
      ca_file: local.ca_file ?? local.cert_file,
      ...(local.verify_clients ? { cert_file: local.cert_file, key_file: local.key_file } : {}),
    },
    "nats.local_tls",
  )
}

function isTlsError(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown }
  return (
    (typeof code === "string" &&
      /^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/.test(code)) ||
    (typeof message === "string" && /certificate|self[- ]signed/i.test(message))
  )
}
