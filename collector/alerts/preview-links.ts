import type { KeyObject } from "node:crypto"
import { readFileSync } from "node:fs"
import { ConfigError } from "../../shared/errors.ts"
import { loadPrivateKey } from "../../shared/protocol/keys.ts"
import { signPreviewToken } from "../../shared/protocol/preview-token.ts"
import type { AgentPresence } from "../kinds/heartbeats/index.ts"
import type { AlertLine } from "./types.ts"

/** Reads the preview signing key; a ConfigError names `alerts.preview_key_file`. */
export function loadPreviewKey(path: string): KeyObject {
  try {
    return loadPrivateKey(readFileSync(path, "utf8")).privateKey
  } catch (error) {
    throw new ConfigError(
      "config_invalid",
      `alerts.preview_key_file: cannot use ${path}: ${(error as Error).message}`,
      { cause: error },
    )
  }
}

/**
 * A link to the lines around a match on its agent: the agent's advertised preview URL (its heartbeats carry
 * `[preview] url`) with a token signed here that binds agent, file generation, offset and expiry. Undefined
 * when the agent advertises no URL.
 */
export function createPreviewLinker(o: {
  key: KeyObject
  ttlMs: number
  presence: () => ReadonlyMap<string, AgentPresence>
  now?: () => number
}) {
  const now = o.now ?? Date.now
  return (line: AlertLine): string | undefined => {
    const base = o.presence().get(line.agent)?.previewUrl
    if (!base) return undefined
    const token = signPreviewToken(
      {
        agent: line.agent,
        gen: line.gen,
        offset: line.offset,
        expiresAt: now() + o.ttlMs,
        ...(line.end !== undefined ? { line_end: line.end } : {}),
        at: Math.round(line.at),
      },
      o.key,
    )
    return `${base.replace(/\/+$/, "")}/preview?t=${token}#match`
  }
}
