import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { jetstream } from "@nats-io/jetstream"
import { errors, type NatsConnection } from "@nats-io/transport-node"
import { connectNats } from "../../agent/transport/nats-connection.ts"
import { formatPublicKeyLine, keyId } from "../../shared/protocol/keys.ts"
import { tempDir, waitFor } from "../../test/harness/index.ts"
import type { LocalNatsServer } from "./local-server.ts"
import {
  connectAsCollector,
  createStream,
  startTestServer,
  type TestAgent,
  testAgent,
} from "./test-fixture.ts"

setDefaultTimeout(60_000)

// The agent's side against the collector's local server: refused while not enrolled, let in by setAgents.

const dir = tempDir("outpost-agent-enroll-")
let server: LocalNatsServer
let collector: NatsConnection

beforeAll(async () => {
  ;({ server } = await startTestServer(dir.path, []))
  collector = await connectAsCollector(server)
  await createStream(collector)
})

afterAll(async () => {
  await collector?.close()
  await server?.stop()
  await dir[Symbol.asyncDispose]()
})

function agentOptions(agent: TestAgent, logs: string[]) {
  return {
    agent: agent.agent,
    auth: { type: "agent_key" as const },
    privateKey: agent.privateKey,
    publicKeyRaw: agent.publicKeyRaw,
    log: (m: string) => logs.push(m),
  }
}

function refusalLine(agent: TestAgent): string {
  return `NATS refused agent '${agent.agent}' (Authorization Violation): its key ${keyId(agent.publicKeyRaw)} is not enrolled on the collector; run there: outpost-collector enroll --config <collector.toml> '${formatPublicKeyLine(agent.publicKeyRaw, agent.agent)}'`
}

test("an agent that starts unenrolled keeps retrying, says how to enroll it, and connects once enrolled", async () => {
  const agent = testAgent("newcomer")
  const logs: string[] = []
  let connected: NatsConnection | undefined
  const connecting = connectNats([server.url], "test-agent", agentOptions(agent, logs)).then((nc) => {
    connected = nc
    return nc
  })
  await waitFor("the refusal to be logged", () => logs.includes(refusalLine(agent)))
  expect(connected).toBeUndefined()

  await server.setAgents([agent])
  const nc = await connecting
  try {
    const ack = await jetstream(nc).publish("outpost.logs.newcomer", "hello", { timeout: 3000 })
    expect(ack.stream).toBe("OUTPOST")
    expect(logs.filter((l) => l.startsWith("NATS refused"))).toHaveLength(1) // once a minute at most
    expect(logs).toContain("NATS accepted agent 'newcomer'")
  } finally {
    await nc.close()
  }
})

test("an agent whose key is withdrawn keeps trying through repeated refusals and comes back when re-enrolled", async () => {
  const agent = testAgent("returning")
  await server.setAgents([agent])
  const logs: string[] = []
  const nc = await connectNats([server.url], "test-agent", agentOptions(agent, logs))
  try {
    let refusals = 0
    void (async () => {
      for await (const s of nc.status())
        if (s.type === "error" && s.error instanceof errors.AuthorizationError) refusals++
    })()
    await server.setAgents([])
    // nats.js would close the connection for good after the second refusal in a row (ignoreAuthErrorAbort)
    await waitFor("three refusals in a row", () => refusals >= 3, 30_000)
    expect(nc.isClosed()).toBe(false)
    expect(logs).toContain(refusalLine(agent))

    await server.setAgents([agent])
    await waitFor("the reconnect", () => logs.includes("NATS accepted agent 'returning' again"), 30_000)
    const ack = await jetstream(nc).publish("outpost.logs.returning", "back", { timeout: 3000 })
    expect(ack.stream).toBe("OUTPOST")
  } finally {
    await nc.close()
  }
})

test("an agent with user_password auth that is refused is told to check its nats.auth", async () => {
  const agent = testAgent("pw-agent")
  const logs: string[] = []
  const abort = new AbortController()
  const connecting = connectNats([server.url], "test-agent", {
    ...agentOptions(agent, logs),
    auth: { type: "user_password", user: "pw-agent", password: "wrong" },
    signal: abort.signal,
  })
  await waitFor("the refusal to be logged", () =>
    logs.some((l) => l.startsWith("NATS refused agent 'pw-agent'")),
  )
  expect(logs[0]).toBe(
    `NATS refused agent 'pw-agent' (Authorization Violation): check nats.auth (type "user_password") in the agent's config against the NATS server's users`,
  )
  abort.abort()
  await expect(connecting).rejects.toThrow("gave up connecting to NATS")
})
