import { agentNatsPermissions, natsUserPublicKey } from "../../shared/protocol/nkey.ts"

/** An enrolled agent key, as the local nats-server needs it: one NKEY user per key. */
export type NatsAgent = { agent: string; publicKeyRaw: Uint8Array }

/** The user the collector itself connects as (all permissions). */
export const COLLECTOR_USER = "collector"

/**
 * The `authorization` block of the local nats-server: the collector with its password and every permission,
 * and per enrolled key an NKEY user that may publish only its own agent's subjects and receive only its own
 * inbox. Nothing else: no JetStream API, no reading the stream.
 */
export function authorizationBlock(collectorPassword: string, agents: NatsAgent[]): string {
  const users = [`    { user: ${q(COLLECTOR_USER)}, password: ${q(collectorPassword)} }`]
  const owner = new Map<string, string>()
  for (const { agent, publicKeyRaw } of agents) {
    const nkey = natsUserPublicKey(publicKeyRaw)
    const seen = owner.get(nkey)
    if (seen === agent) continue
    if (seen !== undefined) {
      throw new Error(
        `one key (${nkey}) is enrolled for two agents, '${seen}' and '${agent}'; NATS needs one agent per key`,
      )
    }
    owner.set(nkey, agent)
    users.push(`    ${agentUserEntry({ agent, publicKeyRaw })}`)
  }
  return ["authorization {", "  users = [", ...users, "  ]", "}"].join("\n")
}

/** One agent key's entry in a nats-server `users` list: its NKEY and its permissions. */
export function agentUserEntry({ agent, publicKeyRaw }: NatsAgent): string {
  const { publish, subscribe } = agentNatsPermissions(agent)
  return `{ nkey: ${q(natsUserPublicKey(publicKeyRaw))}, permissions: { publish: { allow: ${list(publish)} }, subscribe: { allow: ${list(subscribe)} } } }`
}

// nats-server's config format reads JSON strings as quoted strings.
export function q(value: string): string {
  return JSON.stringify(value)
}

function list(values: string[]): string {
  return `[${values.map(q).join(", ")}]`
}
