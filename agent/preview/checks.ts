import type { KeyObject } from "node:crypto"
import { parsePublicKeyLine, publicKeyFromRaw } from "../../shared/protocol/keys.ts"
import type { PreviewConfig } from "./schema.ts"

/** The collector's keys from `[preview] collector_public_keys`, or the problems, each naming its entry. */
export function previewKeys(config: PreviewConfig): { keys: KeyObject[]; problems: string[] } {
  const keys: KeyObject[] = []
  const problems: string[] = []
  config.collector_public_keys.forEach((line, i) => {
    try {
      const parsed = parsePublicKeyLine(line)
      if (parsed) keys.push(publicKeyFromRaw(parsed.publicKeyRaw))
      else problems.push(`preview.collector_public_keys[${i}]: empty`)
    } catch (error) {
      problems.push(`preview.collector_public_keys[${i}]: ${(error as Error).message}`)
    }
  })
  if (config.url !== undefined) {
    try {
      new URL(config.url)
    } catch {
      problems.push(`preview.url: '${config.url}' is not a URL`)
    }
  }
  return { keys, problems }
}

const LOOPBACK = /^(localhost|.*\.localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)$/i
/** a link's host that opens nothing on another machine */
const LOCAL_HOST = new RegExp(`${LOOPBACK.source}|^0\\.0\\.0\\.0$`, "i")

/**
 * What works but will not do what the operator wants: links to this host's loopback open on the phone of
 * whoever taps them (nothing there); a preview page served on loopback cannot be reached from outside.
 */
export function previewWarnings(config: PreviewConfig, http: { enabled: boolean; host: string }): string[] {
  if (config.collector_public_keys.length === 0) return []
  const out: string[] = []
  if (!http.enabled) out.push("preview: [http] enabled = false, so the preview page is not served")
  if (config.url === undefined) {
    out.push("preview.url is not set: alerts from this agent carry no link to the preview page")
  } else {
    const host = URL.canParse(config.url) ? new URL(config.url).hostname : ""
    if (LOCAL_HOST.test(host))
      out.push(
        `preview.url ${config.url} points at localhost: a link in a chat message will not open from another machine`,
      )
  }
  if (http.enabled && LOOPBACK.test(http.host) && config.url !== undefined)
    out.push(
      `preview: [http] host ${http.host} serves this host only; put a reverse proxy in front (docs/DEPLOY.md, "Preview links") or set [http] host`,
    )
  return out
}
