import type { NatsConnection } from "@nats-io/transport-node"
import type { LogLevel } from "../../shared/logger.ts"

/** The collector's answer to `outpost-ctl.<agent>.status` (see docs/PROTOCOL.md, "Agent status requests"). */
export type CollectorStatus = {
  agent: string
  agent_enrolled: boolean
  key_enrolled: boolean
  quarantined: number
}

export type CollectorStatusOptions = {
  nc: NatsConnection
  agent: string
  keyId: string
  /** the agent's public key line, for the command the operator must run */
  publicKeyLine: string
  /** "not known" at warn, "known now" at info */
  log(message: string, level?: LogLevel): void
  /** between checks while the collector knows the agent / while it does not */
  knownIntervalMs?: number
  unknownIntervalMs?: number
}

/**
 * Asks the collector now and then whether it knows this agent and key. Envelopes from an agent it does not
 * know are kept in its quarantine, not lost, but nothing would ship into the database until an operator enrolls
 * the key: say so loudly here, where the operator of this host looks, with the command to run.
 * No answer (an older collector, none running, or no permission) is not an error and is not logged.
 */
export function watchCollectorStatus(o: CollectorStatusOptions): { check(): Promise<void>; stop(): void } {
  let known: boolean | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  const check = async () => {
    let status: CollectorStatus
    try {
      const reply = await o.nc.request(`outpost-ctl.${o.agent}.status`, JSON.stringify({ key_id: o.keyId }), {
        timeout: 3000,
      })
      status = reply.json<CollectorStatus>()
    } catch {
      return
    }
    const ok = status.agent_enrolled && status.key_enrolled
    if (!ok) {
      const what = status.agent_enrolled ? `key ${o.keyId} of agent '${o.agent}'` : `agent '${o.agent}'`
      o.log(
        `the collector does not know ${what}: its envelopes wait in the collector's quarantine (${status.quarantined} so far) and are not stored; on the collector run: outpost-collector enroll --config <collector.toml> '${o.publicKeyLine}'`,
        "warn",
      )
    } else if (known === false) {
      o.log(`the collector knows agent '${o.agent}' now; quarantined envelopes are being ingested`, "info")
    }
    known = ok
  }
  const loop = async () => {
    await check()
    if (stopped) return
    timer = setTimeout(
      loop,
      known === false ? (o.unknownIntervalMs ?? 60_000) : (o.knownIntervalMs ?? 300_000),
    )
    timer.unref()
  }
  void loop()
  return {
    check,
    stop() {
      stopped = true
      clearTimeout(timer)
    },
  }
}
