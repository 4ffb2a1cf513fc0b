import type { AgentPresence } from "../kinds/heartbeats/index.ts"
import type { AlertSignal } from "./types.ts"

export type PresenceWatchOptions = {
  /** silent longer than this (and than 3 heartbeat intervals): offline */
  offlineAfterMs: number
  /** when this collector started: no agent is judged silent from before it (it could not hear them) */
  startedAt: number
}

/** An agent's state now: online while heard within the limit (counted from the later of its last heartbeat and
 * this collector's start), offline after. */
export function presenceState(
  p: AgentPresence,
  now: number,
  o: PresenceWatchOptions,
): { online: boolean; silentMs: number } {
  const heardAt = Math.max(p.lastReceivedAt, o.startedAt)
  const limit = Math.max(o.offlineAfterMs, 3 * p.intervalS * 1000)
  return { online: now - heardAt <= limit, silentMs: Math.max(0, now - heardAt) }
}

/**
 * Turns heartbeat presence into `agent_offline` state signals: firing when an agent has been silent longer than
 * `offlineAfterMs` (or three of its own intervals, if longer), resolved at its next heartbeat. Silence is counted
 * on the collector's clock from the later of the last heartbeat and this collector's start, so a collector that
 * restarts (and was deaf meanwhile) gives every agent the full time to be heard again before it says anything:
 * no burst of false offline alerts after a restart or an outage of the collector itself.
 */
export class PresenceWatch {
  private readonly offline = new Set<string>()

  constructor(private readonly o: PresenceWatchOptions) {}

  /** Signals for the agents whose state changed since the last check. */
  check(presence: ReadonlyMap<string, AgentPresence>, now: number): AlertSignal[] {
    const out: AlertSignal[] = []
    for (const [agent, p] of presence) {
      const silent = !presenceState(p, now, this.o).online
      if (silent && !this.offline.has(agent)) {
        this.offline.add(agent)
        out.push(signal(agent, p, "firing", now))
      } else if (!silent && this.offline.has(agent)) {
        this.offline.delete(agent)
        out.push(signal(agent, p, "resolved", now))
      }
    }
    return out
  }

  /** Agents judged offline now. */
  offlineAgents(): ReadonlySet<string> {
    return this.offline
  }
}

const signal = (agent: string, p: AgentPresence, status: AlertSignal["status"], at: number): AlertSignal => ({
  rule: "agent_offline",
  labels: { agent, host: p.host },
  kind: "state",
  status,
  at,
})
