import { join } from "node:path"
import type { Logger } from "../../shared/logger.ts"
import type { AgentConfig } from "../config/schema.ts"
import { openOutbox } from "../outbox/index.ts"
import type { Outbox } from "../outbox/types.ts"
import { createUrlsSource, runsOn, type UrlsSource } from "../sources/urls/index.ts"
import { EntriesTransport, type EntriesTransportOptions } from "../transport/entries-transport.ts"

/** Entries per `urls` envelope and how long the first waits for more. */
const URLS_BATCH = { max_entries: 5000, max_wait_ms: 200 }

/** The `urls` kind on the agent: checks -> outbox (on disk) -> entries transport -> JetStream. */
export type UrlsKind = {
  source: UrlsSource
  outbox: Outbox
  /** once NATS is connected: starts draining the outbox */
  publish(options: Omit<EntriesTransportOptions, "kind" | "outbox" | "batch"> & { maxBytes: number }): void
  /** stops the checks, publishes what waits (bounded), closes the outbox */
  stop(deadlineMs: number): Promise<void>
}

/**
 * Starts the URL checks this agent runs before NATS is connected: results are kept in the outbox while the
 * broker is away and published once `publish` is called. Undefined when no `[[urls]]` check runs here.
 */
export function startUrlsKind(config: AgentConfig, logger: Logger): UrlsKind | undefined {
  if (!config.urls.some((c) => runsOn(c, config.agent_id))) return undefined
  const outbox = openOutbox({
    path: join(config.state_dir, "outbox.db"),
    maxBytes: config.outbox.max_bytes,
    maxEntries: config.outbox.max_entries,
    logger: logger.child("outbox"),
  })
  const say = logger.child("urls")
  const source = createUrlsSource({
    checks: config.urls,
    agentId: config.agent_id,
    logger,
    append: (results) => {
      try {
        outbox.append("urls", results)
      } catch (error) {
        say.error(`cannot keep ${results.length} result(s) in the outbox: ${(error as Error).message}`)
      }
    },
  })
  const abort = new AbortController()
  const checking = source.run(abort.signal)
  let transport: EntriesTransport | undefined
  let publishing: Promise<void> | undefined
  return {
    source,
    outbox,
    publish(o) {
      const { maxBytes, ...rest } = o
      transport = new EntriesTransport({
        ...rest,
        kind: "urls",
        outbox,
        batch: { ...URLS_BATCH, max_bytes: maxBytes },
      })
      publishing = transport.run()
    },
    async stop(deadlineMs) {
      abort.abort()
      await checking
      if (transport && publishing) await transport.close(deadlineMs, publishing)
      outbox.close()
    },
  }
}
