import { expect, setDefaultTimeout, test } from "bun:test"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { generateAgentKeyPair, loadPrivateKey } from "../../shared/protocol/keys.ts"
import { freePort, startNatsServer, waitFor } from "../../test/harness/index.ts"
import { AbortError, connectNats, type NatsState } from "./nats-connection.ts"

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

test("while nothing listens it says so at once, then again every reportEveryMs with the count; state follows", async () => {
  const logs: { message: string; level?: string }[] = []
  const states: NatsState[] = []
  const abort = new AbortController()
  const url = `nats://127.0.0.1:${await freePort()}`
  const connecting = connectNats([url], "test-agent", {
    ...identity([]),
    log: (message, level) => logs.push({ message, level }),
    onState: (s) => states.push(s),
    reportEveryMs: 1000,
    signal: abort.signal,
  })
  await waitFor("two reports", () => logs.length >= 2, 10_000)
  const attempts = states.at(-1)?.attempts ?? 0
  abort.abort()
  await expect(connecting).rejects.toThrow(`gave up connecting to NATS at ${url}`)
  expect(logs[0]).toEqual({
    message: `cannot connect to NATS at ${url}: connection refused; retrying`,
    level: "warn",
  })
  // attempts come every ~0.5 s: the second report, a second later, counts those it held back
  expect(logs[1]?.message).toMatch(
    new RegExp(
      `^cannot connect to NATS at ${url}: connection refused; retrying \\(\\d+ more like it in the last 1 s\\)$`,
    ),
  )
  expect(attempts).toBeGreaterThanOrEqual(2)
  expect(states.at(-1)).toMatchObject({ connected: false, reason: "connection refused" })
})

test("an abort during a slow attempt (a server that never answers) rejects at once, with an AbortError", async () => {
  // accepts TCP connections and never sends INFO: the attempt would wait for its 10 s timeout
  const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  try {
    const abort = new AbortController()
    const states: NatsState[] = []
    const connecting = connectNats([`nats://127.0.0.1:${silent.port}`], "test-agent", {
      ...identity([]),
      onState: (s) => states.push(s),
      signal: abort.signal,
    })
    await Bun.sleep(0)
    const started = performance.now()
    abort.abort()
    const error = await connecting.catch((e: unknown) => e)
    expect(performance.now() - started).toBeLessThan(500)
    expect(error).toBeInstanceOf(AbortError)
    expect((error as Error).name).toBe("AbortError")
    expect(states).toEqual([
      { connected: false, since: expect.any(Number), reason: "connecting", attempts: 0 },
    ])
  } finally {
    silent.stop(true)
  }
})

test("a lost connection is said once with the server, state and the reconnect too", async () => {
  await using nats = await startNatsServer()
  const logs: string[] = []
  const states: NatsState[] = []
  const nc = await connectNats([nats.url], "test-agent", {
    ...identity([]),
    log: (message, level) => logs.push(`${level} ${message}`),
    onState: (s) => states.push(s),
  })
  try {
    const server = `127.0.0.1:${nats.port}`
    expect(states.at(-1)).toMatchObject({ connected: true, server })
    await nats.stop()
    await waitFor("the loss", () => logs.length === 1)
    expect(logs[0]).toBe(`warn lost the NATS connection to ${server} (connection closed); reconnecting`)
    expect(states.at(-1)).toMatchObject({ connected: false, server, reason: "connection closed" })
    await waitFor("a reconnect attempt", () => (states.at(-1)?.attempts ?? 0) >= 2)
    expect(logs).toHaveLength(1) // attempts are not each a line
    await nats.start()
    await waitFor("the reconnect", () => states.at(-1)?.connected === true)
    expect(logs[1]).toMatch(new RegExp(`^info reconnected to NATS at ${server} after \\d+\\.\\d s$`))
  } finally {
    await nc.close()
  }
  await waitFor("the close", () => states.at(-1)?.closed === true)
  expect(logs).toHaveLength(2)
})
