import type { NatsConnection, Subscription } from "@nats-io/transport-node"
import { AGENT_ID_PATTERN } from "../../shared/protocol/keys.ts"
import { agentInboxPrefix } from "../../shared/protocol/nkey.ts"
import type { Enrollment } from "./enrollment.ts"

/** Subject an agent asks on whether the collector knows it: `outpost-ctl.<agent>.status` (request/reply). */
export const STATUS_SUBJECT_ROOT = "outpost-ctl"

/** What the collector answers an agent that asks about itself. */
export type AgentStatusReply = {
  agent: string
  /** the agent id has at least one enrolled key */
  agent_enrolled: boolean
  /** the key id the agent asked about is enrolled for it */
  key_enrolled: boolean
  /** envelopes of this agent waiting in the quarantine */
  quarantined: number
}

export type AgentStatusOptions = {
  nc: NatsConnection
  enrollment(): Enrollment
  /** quarantined envelopes per agent, as last counted */
  quarantined(agent: string): number
}

/**
 * Answers agents' "do you know me?" requests, so an agent whose envelopes land in the quarantine can say so
 * loudly in its own log instead of shipping into the void. Collectors answer as a queue group: one reply each.
 */
export function serveAgentStatus(o: AgentStatusOptions): Subscription {
  return o.nc.subscribe(`${STATUS_SUBJECT_ROOT}.*.status`, {
    queue: "outpost-collector",
    callback: (error, m) => {
      if (error || !m.reply) return
      const agent = m.subject.split(".")[1] ?? ""
      if (!AGENT_ID_PATTERN.test(agent)) return
      // The answer goes out on the collector's all-powerful connection: never to a subject the asker chose
      // beyond its own inbox (a reply subject of `$JS.API.STREAM.PURGE.OUTPOST` would purge the stream).
      if (!m.reply.startsWith(`${agentInboxPrefix(agent)}.`)) return
      let keyId = ""
      try {
        keyId = String((JSON.parse(new TextDecoder().decode(m.data)) as { key_id?: unknown }).key_id ?? "")
      } catch {
        // an empty or bad request still gets the agent-level answer
      }
      const keys = o.enrollment().get(agent)
      const reply: AgentStatusReply = {
        agent,
        agent_enrolled: keys !== undefined,
        key_enrolled: keys?.has(keyId) ?? false,
        quarantined: o.quarantined(agent),
      }
      m.respond(JSON.stringify(reply))
    },
  })
}
