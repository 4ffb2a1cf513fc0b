import { hostname } from "node:os"
import { OutpostError } from "../../shared/errors.ts"
import { formatPublicKeyLine, keyId } from "../../shared/protocol/keys.ts"
import { checkEnvelopeFit } from "../config/checks.ts"
import type { AgentConfig } from "../config/schema.ts"
import type { CollectorStatus } from "../transport/collector-status.ts"
import { connectNats } from "../transport/nats-connection.ts"
import { loadKeyFile } from "./key-file.ts"

/** How long `check-config --environment` tries to reach NATS. */
const CONNECT_WITHIN_MS = 10_000

/**
 * `check-config --environment`: connects to NATS as `run` would, checks the server's max_payload against the
 * config, and asks the collector whether it knows this agent's key. Returns what it found; throws on a problem.
 */
export async function checkAgentEnvironment(config: AgentConfig): Promise<string[]> {
  const { privateKey, publicKeyRaw } = loadKeyFile(config.private_key_file)
  const heard: string[] = []
  const servers = config.nats.servers.join(", ")
  const connecting = connectNats(config.nats.servers, `outpost-agent/${config.agent_id} check-config`, {
    agent: config.agent_id,
    auth: config.nats.auth,
    tls: config.nats.tls,
    privateKey,
    publicKeyRaw,
    log: (message) => heard.push(message),
  })
  const timeout = new Promise<undefined>((resolve) => setTimeout(resolve, CONNECT_WITHIN_MS).unref())
  const nc = await Promise.race([connecting, timeout])
  if (!nc) {
    const why = heard.at(-1) ?? "no answer"
    throw new OutpostError(
      "nats_unreachable",
      `nats: not connected to ${servers} within ${CONNECT_WITHIN_MS / 1000} s: ${why}`,
    )
  }
  try {
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024
    const lines = [
      `nats: connected to ${nc.getServer()} as agent '${config.agent_id}' (max_payload ${maxPayload})`,
    ]
    checkEnvelopeFit(config, maxPayload)
    const id = keyId(publicKeyRaw)
    let status: CollectorStatus
    try {
      const reply = await nc.request(
        `outpost-ctl.${config.agent_id}.status`,
        JSON.stringify({ key_id: id }),
        {
          timeout: 3000,
        },
      )
      status = reply.json<CollectorStatus>()
    } catch (error) {
      throw new OutpostError(
        "collector_unreachable",
        `collector: no answer to this agent's status request (${(error as Error).message}): is the collector running and connected to this NATS?`,
      )
    }
    if (!status.agent_enrolled || !status.key_enrolled) {
      throw new OutpostError(
        "not_enrolled",
        `collector: does not know ${status.agent_enrolled ? `key ${id} of` : ""} agent '${config.agent_id}'; on the collector run: outpost-collector enroll --config <collector.toml> '${formatPublicKeyLine(publicKeyRaw, config.agent_id)}'`,
      )
    }
    lines.push(
      `collector: knows agent '${config.agent_id}' and key ${id} (host ${config.host ?? hostname()})`,
    )
    return lines
  } finally {
    await nc.close().catch(() => {})
  }
}
