import type { Logger } from "../../shared/logger.ts"
import type { AgentConfig } from "../config/schema.ts"
import { createAppendBatcher } from "../outbox/append-batcher.ts"
import type { Outbox, OutboxStats } from "../outbox/types.ts"
import {
  createUrlsSource,
  runsOn,
  type UrlCheckStatus,
  type UrlResultDraft,
  type UrlsSource,
  urlCheckName,
} from "../sources/urls/index.ts"
import type { EntriesTransportStats } from "../transport/entries-transport.ts"
import { createOutboxPublisher, type KindPublishOptions } from "./outbox-publisher.ts"

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
  status(): UrlsKindStatus
  /** the transport's counters alone (null until NATS is connected): what a scrape needs, without the checks */
  transportStats(): EntriesTransportStats | null
  /** once NATS is connected: starts draining the outbox */
  publish(options: KindPublishOptions): void
  /** stops the checks, keeps their last results, publishes what waits (bounded); the outbox stays open */
  stop(deadlineMs: number): Promise<void>
}

/**
 * Starts the URL checks this agent runs before NATS is connected: results are kept in the outbox while the
 * broker is away and published once `publish` is called. Undefined when no `[[urls]]` check runs here.
 */
export function startUrlsKind(
  config: AgentConfig,
  outbox: Outbox,
  logger: Logger,
  events: UrlsKindEvents = {},
): UrlsKind | undefined {
  if (urlChecksRunHere(config).length === 0) return undefined
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
  const publisher = createOutboxPublisher("urls", outbox, URLS_BATCH)
  return {
    source,
    status() {
      const { checks, other_agents } = source.status()
      return { checks, other_agents, outbox: outbox.stats(), transport: publisher.stats() }
    },
    transportStats: () => publisher.stats(),
    publish: (o) => publisher.publish(o),
    async stop(deadlineMs) {
      abort.abort()
      await checking
      batcher.flush()
      await publisher.close(deadlineMs)
    },
  }
}
