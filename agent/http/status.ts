import type { NatsState } from "../transport/nats-connection.ts"

/** Publishing that has failed without a success for this long is a problem /health reports. */
export const PUBLISH_FAILING_MS = 30_000

export type SourceState = { state: "waiting" | "running" | "failed" | "stopped"; error?: string }

/**
 * What the agent knows about its own health, fed by the service as things happen: the NATS connection, the
 * outcome of publishes, each source. `problems()` is what /health answers with.
 */
export function createAgentStatus(o: { sources: readonly string[]; now?: () => number }) {
  const now = o.now ?? Date.now
  let nats: NatsState = { connected: false, since: now(), reason: "not started" }
  let failingSince: number | undefined
  let lastPublishAt: number | undefined
  let lastPublishError: string | undefined
  const sources = new Map<string, SourceState>(o.sources.map((name) => [name, { state: "waiting" }]))
  return {
    setNats(state: NatsState): void {
      nats = state
    },
    nats: (): NatsState => nats,
    published(at = now()): void {
      lastPublishAt = at
      failingSince = undefined
      lastPublishError = undefined
    },
    publishFailed(at = now(), error?: unknown): void {
      failingSince ??= at
      if (error !== undefined) lastPublishError = error instanceof Error ? error.message : String(error)
    },
    lastPublishAt: (): number | undefined => lastPublishAt,
    /** the last failed publish, until one succeeds */
    lastPublishError: (): string | undefined => lastPublishError,
    setSource(name: string, state: SourceState): void {
      sources.set(name, state)
    },
    source: (name: string): SourceState => sources.get(name) ?? { state: "waiting" },
    /** empty when healthy: connected to NATS, publishing works (or has nothing to do), every source runs */
    problems(): string[] {
      const out: string[] = []
      const at = now()
      if (!nats.connected) {
        const to = nats.server ? ` to ${nats.server}` : ""
        const tries = nats.attempts ? `, ${nats.attempts} attempt${nats.attempts === 1 ? "" : "s"}` : ""
        out.push(`nats: not connected${to} since ${iso(nats.since)} (${nats.reason ?? "unknown"}${tries})`)
      }
      if (failingSince !== undefined && at - failingSince >= PUBLISH_FAILING_MS) {
        const last = lastPublishAt === undefined ? "none yet" : `last success ${iso(lastPublishAt)}`
        out.push(`publish: failing for ${Math.round((at - failingSince) / 1000)} s (${last})`)
      }
      for (const [name, s] of sources) {
        if (s.state === "failed") out.push(`logs[${name}]: stopped by an error: ${s.error ?? "unknown"}`)
        else if (s.state === "waiting" && nats.connected) out.push(`logs[${name}]: not started yet`)
      }
      return out
    },
  }
}
export type AgentStatus = ReturnType<typeof createAgentStatus>

const iso = (ms: number) => new Date(ms).toISOString()
