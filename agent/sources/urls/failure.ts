import type { UrlReason } from "../../../shared/protocol/urls/result.ts"
import { ResponseParseError } from "./http-response.ts"

/** Where a probe was when it ended: names the timeout and the error. */
export type Phase = "dns" | "connect" | "tls" | "first byte" | "transfer"

/** Why a probe did not get a usable response, as a result's reason and message. */
export class ProbeFailure extends Error {
  override name = "ProbeFailure"
  constructor(
    readonly reason: UrlReason,
    message: string,
    /** the certificate's notAfter when one was seen (an expired or untrusted one) */
    readonly certExpiresAt: number | null = null,
  ) {
    super(message)
  }
}

/** The connection closed before a full response (no error from the socket itself). */
export class ClosedEarly extends Error {
  override name = "ClosedEarly"
}

const DNS_CODES = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "EAI_NODATA",
  "EAI_FAIL",
  "ENODATA",
  "ESERVFAIL",
])
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "ERR_STREAM_PREMATURE_CLOSE"])
const TLS_CODE =
  /^(ERR_TLS|ERR_SSL|ERR_OSSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH|ERR_TLS_CERT)/

const WAITING: Record<Phase, string> = {
  dns: "resolving the host",
  connect: "connecting",
  tls: "in the TLS handshake",
  "first byte": "waiting for the first byte",
  transfer: "reading the response",
}

/** A timeout's failure: which phase it cut short. */
export const timeoutFailure = (timeoutMs: number, phase: Phase): ProbeFailure =>
  new ProbeFailure("timeout", `no complete response within ${timeoutMs / 1000} s (${WAITING[phase]})`)

/**
 * Maps what went wrong to a reason: ENOTFOUND/EAI_* -> dns, ECONNREFUSED -> refused, ECONNRESET/EPIPE or a close
 * before the full response -> reset, any error of the TLS handshake (a close during it too) or a certificate code -> tls, ETIMEDOUT
 * (the kernel's own connect timeout) -> timeout, a malformed response or anything else -> error.
 */
export function failureOf(error: unknown, phase: Phase, target: string): ProbeFailure {
  if (error instanceof ProbeFailure) return error
  const code = String((error as { code?: unknown })?.code ?? "")
  const text = error instanceof Error ? error.message : String(error)
  // the server hanging up mid-handshake is a TLS failure (a version or cipher it refuses), not a reset
  if (phase === "tls" && (error instanceof ClosedEarly || RESET_CODES.has(code)))
    return new ProbeFailure(
      "tls",
      `TLS with ${target}: the server closed the connection during the handshake`,
    )
  if (error instanceof ClosedEarly) return new ProbeFailure("reset", `${text} (${target})`)
  if (error instanceof ResponseParseError) return new ProbeFailure("error", `bad response: ${text}`)
  if (DNS_CODES.has(code) || phase === "dns")
    return new ProbeFailure("dns", `cannot resolve ${target}: ${code || text}`)
  if (code === "ECONNREFUSED") return new ProbeFailure("refused", `connection refused by ${target}`)
  if (RESET_CODES.has(code))
    return new ProbeFailure("reset", `connection reset by ${target} (${WAITING[phase]})`)
  if (code === "ETIMEDOUT") return new ProbeFailure("timeout", `${target}: ${code} (${WAITING[phase]})`)
  if (phase === "tls" || TLS_CODE.test(code))
    return new ProbeFailure("tls", `TLS with ${target}: ${code || text}`)
  return new ProbeFailure("error", `${target}: ${code ? `${code} ` : ""}${text}`.slice(0, 300))
}
