import type { AgentPresence } from "../kinds/heartbeats/index.ts"
import { type PresenceWatchOptions, presenceState } from "./presence-watch.ts"

/** One agent as /status shows it, from its newest heartbeat. */
export type PresenceRow = {
  agent: string
  host: string
  state: "online" | "offline"
  last_seen: string
  silent_s: number
  version: string
  interval_s: number
  preview_url: string | null
}

/** Every agent that ever sent a heartbeat, with its state now (same judgement as the offline alerts). */
export function presenceRows(
  presence: ReadonlyMap<string, AgentPresence>,
  now: number,
  o: PresenceWatchOptions,
): PresenceRow[] {
  return [...presence]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([agent, p]) => {
      const s = presenceState(p, now, o)
      return {
        agent,
        host: p.host,
        state: s.online ? "online" : "offline",
        last_seen: new Date(p.lastReceivedAt).toISOString(),
        silent_s: Math.round(s.silentMs / 1000),
        version: p.version,
        interval_s: p.intervalS,
        preview_url: p.previewUrl,
      }
    })
}
