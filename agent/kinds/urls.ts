import { join } from "node:path"
import type { Logger } from "../../shared/logger.ts"
import type { AgentConfig } from "../config/schema.ts"
import { createAppendBatcher } from "../outbox/append-batcher.ts"
import { openOutbox } from "../outbox/index.ts"
import type { Outbox, OutboxStats } from "../outbox/types.ts"
import {
  createUrlsSource,
  runsOn,
  type UrlCheckStatus,
  type UrlResultDraft,
  type UrlsSource,
  urlCheckName,
} from "../sources/urls/index.ts"
import {
  EntriesTransport,
  type EntriesTransportOptions,
  type EntriesTransportStats,
} from "../transport/entries-transport.ts"

/** Results gathered into one outbox transaction, and for how long at most. */
const APPEND_BATCH = { maxWaitMs: 20, maxEntries: 500 }

/** Entries per `urls` envelope and how long the first waits for more. */
const URLS_BATCH = { max_entries: 5000, max_wait_ms: 200 }

/** What /status, the page and /metrics show of the kind: the checks, the outbox, the transport. */
export type UrlsKindStatus = {
  checks: UrlCheckStatus[]
  /** names of checks in the config that other agents run */
  other_agents: string[]
  outbox: OutboxStats
  /** null until NATS is connected */
  transport: EntriesTransportStats | null
}

/** Seen as it happens, for metrics: each result kept, each run started (how late after its slot). */
export type UrlsKindEvents = {
  result?(result: UrlResultDraft): void
  started?(lateMs: number): void
}

/** The names of the checks this agent runs (a check whose `agents` leave it out is not). */
export const urlChecksRunHere = (config: AgentConfig): string[] =>
  config.urls.filter((c) => runsOn(c, config.agent_id)).map(urlCheckName)

/** The `urls` kind on the agent: checks -> outbox (on disk) -> entries transport -> JetStream. */
export type UrlsKind = {
  source: UrlsSource
  outbox: Outbox
  status(): UrlsKindStatus
  /** once NATS is connected: starts draining the outbox */
  publish(options: Omit<EntriesTransportOptions, "kind" | "outbox" | "batch"> & { maxBytes: number }): void
  /** stops the checks, publishes what waits (bounded), closes the outbox */
  stop(deadlineMs: number): Promise<void>
}

/**
 * Starts the URL checks this agent runs before NATS is connected: results are kept in the outbox while the
 * broker is away and published once `publish` is called. Undefined when no `[[urls]]` check runs here.
 */
export function startUrlsKind(
  config: AgentConfig,
  logger: Logger,
  events: UrlsKindEvents = {},
): UrlsKind | undefined {
  if (urlChecksRunHere(config).length === 0) return undefined
  const outbox = openOutbox({
    path: join(config.state_dir, "outbox.db"),
    maxBytes: config.outbox.max_bytes,
    maxEntries: config.outbox.max_entries,
    logger: logger.child("outbox"),
  })
  const say = logger.child("urls")
  const batcher = createAppendBatcher<UrlResultDraft>({
    ...APPEND_BATCH,
    write: (results) => {
      try {
        outbox.append("urls", results)
        if (events.result) for (const r of results) events.result(r)
      } catch (error) {
        say.error(`cannot keep ${results.length} result(s) in the outbox: ${(error as Error).message}`)
      }
    },
  })
  const source = createUrlsSource({
    checks: config.urls,
    agentId: config.agent_id,
    logger,
    onStart: events.started && ((run) => events.started?.(run.startedAt - run.scheduledAt)),
    append: (results) => batcher.add(results),
  })
  const abort = new AbortController()
  const checking = source.run(abort.signal)
  let transport: EntriesTransport | undefined
  let publishing: Promise<void> | undefined
  return {
    source,
    outbox,
    status() {
      const { checks, other_agents } = source.status()
      return { checks, other_agents, outbox: outbox.stats(), transport: transport?.stats ?? null }
    },
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
      batcher.flush()
      if (transport && publishing) await transport.close(deadlineMs, publishing)
      outbox.close()
    },
  }
}
