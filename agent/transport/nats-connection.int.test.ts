import { expect, setDefaultTimeout, test } from "bun:test"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { generateAgentKeyPair, loadPrivateKey } from "../../shared/protocol/keys.ts"
import { freePort, startNatsServer, waitFor } from "../../test/harness/index.ts"
import { connectNats } from "./nats-connection.ts"

setDefaultTimeout(60_000)

function identity(logs: string[]) {
  const pair = generateAgentKeyPair()
  return {
    agent: "edge-1",
    auth: { type: "agent_key" as const },
    privateKey: loadPrivateKey(pair.privateKeyPem).privateKey,
    publicKeyRaw: pair.publicKeyRaw,
    log: (m: string) => logs.push(m),
  }
}

test("agent_key auth against a NATS server without auth still connects and publishes", async () => {
  await using nats = await startNatsServer()
  const admin = await connect({ servers: nats.url })
  await (await jetstreamManager(admin)).streams.add({ name: "OUTPOST", subjects: ["outpost.>"] })
  const logs: string[] = []
  // The server sends no nonce, so nats.js sends the public key without a signature, which it ignores.
  const nc = await connectNats([nats.url], "test-agent", identity(logs))
  try {
    const ack = await jetstream(nc).publish("outpost.logs.edge-1", "x", { timeout: 3000 })
    expect(ack.seq).toBe(1)
    expect(logs).toEqual([])
  } finally {
    await nc.close()
    await admin.close()
  }
})

test("while nothing listens the agent retries and says so once, and it can be told to give up", async () => {
  const logs: string[] = []
  const abort = new AbortController()
  const url = `nats://127.0.0.1:${await freePort()}`
  const connecting = connectNats([url], "test-agent", { ...identity(logs), signal: abort.signal })
  await waitFor("the report", () => logs.length > 0)
  expect(logs[0]).toStartWith(`cannot connect to NATS at ${url}: `)
  expect(logs[0]).toEndWith("; retrying")
  abort.abort()
  await expect(connecting).rejects.toThrow(`gave up connecting to NATS at ${url}`)
  expect(logs).toHaveLength(1)
})
