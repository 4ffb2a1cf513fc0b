import { readFileSync } from "node:fs"
import { fromSeed } from "@nats-io/nkeys"
import {
  type ConnectionOptions,
  credsAuthenticator,
  nkeyAuthenticator,
  type TlsOptions,
} from "@nats-io/transport-node"
import { ConfigError } from "../errors.ts"
import type { AgentNatsAuth, CollectorNatsAuth, NatsTls } from "./nats-schema.ts"

/** An auth table both sides read the same way (the agent's own `agent_key` is handled by the agent). */
export type PlainNatsAuth = Exclude<AgentNatsAuth | CollectorNatsAuth, { type: "agent_key" }>

/**
 * The nats.js options for `nats.auth`. Files are read now, so that a wrong path is a config error at start and
 * not a connection that retries forever.
 */
export function natsAuthOptions(auth: PlainNatsAuth, field = "nats.auth"): ConnectionOptions {
  switch (auth.type) {
    case "none":
      return {}
    case "user_password":
      return { user: auth.user, pass: auth.password }
    case "token":
      return { token: auth.token }
    case "creds_file":
      return { authenticator: credsAuthenticator(readConfigFile(auth.path, `${field}.path`)) }
    case "nkey_seed_file": {
      const seed = new TextEncoder().encode(readConfigFile(auth.path, `${field}.path`).toString().trim())
      try {
        fromSeed(seed)
      } catch (cause) {
        throw new ConfigError(
          "config_invalid",
          `${field}.path: ${auth.path} does not hold a NATS seed (SU...)`,
          {
            cause,
          },
        )
      }
      return { authenticator: nkeyAuthenticator(seed) }
    }
  }
}

/** The nats.js `tls` option for a `nats.tls` table (PEM files read now), or nothing when TLS is not configured. */
export function natsTlsOptions(tls: NatsTls | undefined, field = "nats.tls"): TlsOptions | undefined {
  if (!tls) return undefined
  if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) {
    throw new ConfigError(
      "config_invalid",
      `${field}: cert_file and key_file go together (a client certificate and its key)`,
    )
  }
  return {
    ca: readConfigFile(tls.ca_file, `${field}.ca_file`).toString(),
    ...(tls.cert_file && tls.key_file
      ? {
          cert: readConfigFile(tls.cert_file, `${field}.cert_file`).toString(),
          key: readConfigFile(tls.key_file, `${field}.key_file`).toString(),
        }
      : {}),
  }
}

/** Reads a file named by a config field; a failure names the field. */
export function readConfigFile(path: string, field: string): Buffer {
  try {
    return readFileSync(path)
  } catch (cause) {
    throw new ConfigError("config_invalid", `${field}: cannot read ${path}: ${(cause as Error).message}`, {
      cause,
    })
  }
}
