import type { Database } from "bun:sqlite"
import { hostname } from "node:os"
import type { Logger } from "../../shared/logger.ts"
import type { AgentConfig } from "../config/schema.ts"
import { previewKeys, previewWarnings } from "./checks.ts"
import { createPreviewHandler } from "./handler.ts"
import { createLocator } from "./locate.ts"

/**
 * The /preview handler for the agent's HTTP server, when `[preview] collector_public_keys` names a key; says at
 * start what the links will lack (no URL, a localhost one, a page served on loopback only).
 */
export function agentPreviewHandler(config: AgentConfig, db: Database, logger: Logger) {
  for (const warning of previewWarnings(config.preview, config.http)) logger.warn(warning)
  const { keys } = previewKeys(config.preview)
  if (keys.length === 0) return undefined
  return createPreviewHandler({
    agent: config.agent_id,
    host: config.host ?? hostname(),
    publicKeys: keys,
    locate: createLocator(db),
  })
}
