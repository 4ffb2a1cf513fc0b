import { readFileSync } from "node:fs"
import { ConfigError } from "../../shared/errors.ts"
import type { HttpConfig } from "../config/http-schema.ts"
import { type HttpAccess, isLoopback } from "./access.ts"

const MIN_TOKEN_CHARS = 16

/**
 * Builds the access rules from `[http]`: the token from `http.token` or `http.token_file`, and without a
 * token a refusal to listen anywhere but on loopback (anyone who reaches the port could read every log).
 */
export function resolveHttpAccess(http: HttpConfig, log: (message: string) => void): HttpAccess {
  if (http.token !== undefined && http.token_file !== undefined) {
    throw new ConfigError("config_invalid", "http.token and http.token_file are both set; keep one")
  }
  let token: string | null = http.token ?? null
  if (http.token_file !== undefined) {
    try {
      token = readFileSync(http.token_file, "utf8").trim()
    } catch (cause) {
      throw new ConfigError(
        "config_invalid",
        `http.token_file ${http.token_file} cannot be read: ${(cause as Error).message}`,
        { cause },
      )
    }
    if (token.length < MIN_TOKEN_CHARS || /\s/.test(token)) {
      throw new ConfigError(
        "config_invalid",
        `http.token_file ${http.token_file} must hold one token of at least ${MIN_TOKEN_CHARS} characters without spaces`,
      )
    }
  }
  if (token === null) {
    if (!isLoopback(http.host)) {
      throw new ConfigError(
        "config_invalid",
        `http.host is '${http.host}', which is not a loopback address: set http.token (or http.token_file) so that /sql, /status and /metrics need a bearer token, or listen on 127.0.0.1`,
      )
    }
    log("HTTP on loopback only, no token")
  }
  return { token, bindHost: http.host, allowedHosts: http.allowed_hosts, port: http.port }
}
