import { join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { ConfigError } from "../../shared/errors.ts"
import type { CollectorConfig } from "../config/schema.ts"
import { Quarantine } from "../ingest/quarantine.ts"
import { COLLECTOR_USER } from "../nats/auth-config.ts"
import { collectorConnectOptions } from "../nats/connect.ts"
import { type LocalNatsServer, localServerUrl } from "../nats/local-server.ts"
import { collectorPassword } from "../nats/password.ts"

export type QuarantineFilter = { agent?: string; reason?: string; all?: boolean }

/** The running collector's local nats-server as a client sees it (URL and the collector's own login). */
function localServerLogin(config: CollectorConfig): LocalNatsServer {
  const url = localServerUrl(
    config.nats.local_host,
    config.nats.local_port,
    config.nats.local_tls !== undefined,
  )
  const password = collectorPassword(join(config.data_dir, "nats"))
  return { url, user: COLLECTOR_USER, password } as unknown as LocalNatsServer
}

/**
 * `outpost-collector quarantine list|discard`: what waits in the quarantine, by reason and agent, and explicit
 * discarding. Talks to NATS as the collector does (its local server's login, or [nats] url and auth); ingesting
 * is the running collector's job (it replays at start, on enrollment changes and on SIGHUP).
 */
export async function quarantineCommand(
  config: CollectorConfig,
  action: string | undefined,
  filter: QuarantineFilter,
  print: (line: string) => void,
): Promise<number> {
  if (action !== "list" && action !== "discard")
    throw new ConfigError("cli", "quarantine needs 'list' or 'discard' (with --agent, --reason or --all)")
  if (action === "discard" && !filter.agent && !filter.reason && !filter.all)
    throw new ConfigError("cli", "quarantine discard needs --agent <id>, --reason <reason> or --all")
  const options = collectorConnectOptions(config, config.nats.url ? undefined : localServerLogin(config))
  const nc = await connect({ ...options, maxReconnectAttempts: 0, timeout: 5000 }).catch((error: Error) => {
    throw new ConfigError(
      "nats_unreachable",
      `cannot reach NATS at ${String(options.servers)}: ${error.message}`,
    )
  })
  try {
    const q = config.quarantine
    const quarantine = new Quarantine({
      js: jetstream(nc),
      jsm: await jetstreamManager(nc),
      stream: q.stream,
      subjectRoot: q.subject_root,
    })
    if (action === "discard") {
      const n = await quarantine.discard({ agent: filter.agent, reason: filter.reason })
      print(`discarded ${n} quarantined envelope(s)`)
      return 0
    }
    const totals = await quarantine.totals()
    const groups = await quarantine.groups()
    print(`${totals.messages} envelope(s), ${totals.bytes} bytes in ${q.stream}`)
    for (const g of groups) print(`  ${g.reason.padEnd(14)} ${g.agent.padEnd(24)} ${g.messages}`)
    return 0
  } finally {
    await nc.close()
  }
}
