import type { UrlsKindStatus } from "../kinds/urls.ts"
import type { AgentHttpView } from "./view.ts"

/** The JSON of /status, which the page at / shows as tables. */
export type AgentStatusBody = ReturnType<typeof statusBody>

/** /status: the agent, NATS, each source with its files, the URL checks and the outbox; times as ISO text. */
export function statusBody(view: AgentHttpView) {
  const nats = view.status.nats()
  const lastPublish = view.status.lastPublishAt()
  return {
    agent: view.agent,
    version: view.version,
    uptime_s: Math.round((Date.now() - view.startedAt) / 1000),
    problems: view.status.problems(),
    nats: {
      connected: nats.connected,
      since: new Date(nats.since).toISOString(),
      server: nats.server ?? null,
      reason: nats.connected ? null : (nats.reason ?? null),
      attempts: nats.connected ? 0 : (nats.attempts ?? 0),
    },
    last_publish_at: lastPublish === undefined ? null : new Date(lastPublish).toISOString(),
    sources: view.sources().map(({ name, read }) => ({
      name,
      ...view.status.source(name),
      patterns: read.patterns,
      files: read.files.map((f) => ({
        path: f.path,
        gen: f.gen,
        state: f.state,
        position: f.position,
        acked: f.acked,
        size: f.size,
        behind: f.behind,
      })),
    })),
    urls: urlsBody(view.urls?.()),
  }
}

/** Checks with ISO times; the outbox with what waits, what the bound dropped and what is still to report. */
function urlsBody(u: UrlsKindStatus | undefined) {
  if (!u) return null
  const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(ms).toISOString())
  return {
    checks: u.checks.map((c) => ({ ...c, last_run_at: iso(c.last_run_at), next_run_at: iso(c.next_run_at) })),
    other_agents: u.other_agents,
    outbox: {
      entries: u.outbox.entries,
      bytes: u.outbox.bytes,
      oldest_at: iso(u.outbox.oldestAt),
      dropped_since_start: u.outbox.droppedSinceOpen,
      dropped_unreported: u.outbox.dropped.urls ?? 0,
    },
    published: u.transport
      ? {
          envelopes: u.transport.envelopes,
          entries: u.transport.entries,
          dropped_reported: u.transport.dropped_reported,
        }
      : null,
  }
}
