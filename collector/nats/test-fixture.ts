import type { KeyObject } from "node:crypto"
import { AckPolicy, jetstreamManager } from "@nats-io/jetstream"
import {
  type ConnectionOptions,
  connect,
  type NatsConnection,
  nkeyAuthenticator,
} from "@nats-io/transport-node"
import { generateAgentKeyPair, loadPrivateKey } from "../../shared/protocol/keys.ts"
import { agentInboxPrefix, natsUserSeed } from "../../shared/protocol/nkey.ts"
import { recordingLogger } from "../../test/harness/logger.ts"
import { freePort } from "../../test/harness/ports.ts"
import type { NatsAgent } from "./auth-config.ts"
import { type LocalNatsOptions, type LocalNatsServer, startLocalNatsServer } from "./local-server.ts"

/** A test agent: a fresh key and the forms NATS needs. */
export type TestAgent = NatsAgent & { privateKey: KeyObject; seed: Uint8Array }

export function testAgent(agent: string): TestAgent {
  const pair = generateAgentKeyPair()
  const { privateKey } = loadPrivateKey(pair.privateKeyPem)
  return { agent, publicKeyRaw: pair.publicKeyRaw, privateKey, seed: natsUserSeed(privateKey) }
}

/** A local server in `dir` on a free port, recording what supervision reports; stop it with `stop()`. */
export async function startTestServer(
  dir: string,
  agents: NatsAgent[],
  extra: Partial<LocalNatsOptions> = {},
): Promise<{ server: LocalNatsServer; port: number; logs: string[]; fatal: Error[] }> {
  const log = recordingLogger("nats")
  const logs = log.messages
  const fatal: Error[] = []
  const port = extra.port ?? (await freePort())
  const server = await startLocalNatsServer({
    dataDir: dir,
    host: "127.0.0.1",
    port,
    maxPayloadBytes: 1024 * 1024,
    agents,
    log,
    onFatal: (e) => fatal.push(e),
    ...extra,
  })
  return { server, port, logs, fatal }
}

/** Connects as the collector's own user (every permission). */
export async function connectAsCollector(
  server: LocalNatsServer,
  more: ConnectionOptions = {},
): Promise<NatsConnection> {
  return await connect({ servers: server.url, user: server.user, pass: server.password, ...more })
}

/** Connects with an agent's NKEY and its inbox prefix, the way the agent does. */
export async function connectAsAgent(
  server: LocalNatsServer,
  agent: TestAgent,
  more: ConnectionOptions = {},
): Promise<NatsConnection> {
  return await connect({
    servers: server.url,
    authenticator: nkeyAuthenticator(agent.seed),
    inboxPrefix: agentInboxPrefix(agent.agent),
    timeout: 3000,
    ...more,
  })
}

/** The stream OUTPOST (`outpost.>`) and durable pull consumer `collector`, created as the collector. */
export async function createStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc)
  await jsm.streams.add({ name: "OUTPOST", subjects: ["outpost.>"] })
  await jsm.consumers.add("OUTPOST", { durable_name: "collector", ack_policy: AckPolicy.Explicit })
}
