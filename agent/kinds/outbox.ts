import { join } from "node:path"
import type { Logger } from "../../shared/logger.ts"
import type { AgentConfig } from "../config/schema.ts"
import { openOutbox } from "../outbox/index.ts"
import type { Outbox } from "../outbox/types.ts"
import { urlChecksRunHere } from "./urls.ts"

/**
 * The one outbox of the agent (`<state_dir>/outbox.db`), shared by every outbox kind: one bound, one drop count,
 * one process per file. Undefined when no kind needs it (no URL check runs here and heartbeats are off).
 */
export function openAgentOutbox(config: AgentConfig, logger: Logger): Outbox | undefined {
  if (urlChecksRunHere(config).length === 0 && !config.heartbeat.enabled) return undefined
  return openOutbox({
    path: join(config.state_dir, "outbox.db"),
    maxBytes: config.outbox.max_bytes,
    maxEntries: config.outbox.max_entries,
    logger: logger.child("outbox"),
  })
}
