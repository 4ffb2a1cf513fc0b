import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { tempDir } from "../../test/harness/index.ts"
import type { LocalNatsServer } from "./local-server.ts"
import {
  connectAsAgent,
  connectAsCollector,
  createStream,
  startTestServer,
  type TestAgent,
  testAgent,
} from "./test-fixture.ts"

setDefaultTimeout(60_000)

const dir = tempDir("outpost-local-nats-")
const edge = testAgent("edge-1")
const other = testAgent("other")
let server: LocalNatsServer
let collector: NatsConnection
let agent: NatsConnection

beforeAll(async () => {
  ;({ server } = await startTestServer(dir.path, [edge, other]))
  collector = await connectAsCollector(server)
  await createStream(collector)
  agent = await connectAsAgent(server, edge)
})

afterAll(async () => {
  await agent?.close()
  await collector?.close()
  await server?.stop()
  await dir[Symbol.asyncDispose]()
})

async function storedMessages(): Promise<number> {
  return (await (await jetstreamManager(collector)).streams.info("OUTPOST")).state.messages
}

describe("an agent connected with its own NKEY", () => {
  test("publishes to its own subjects and gets JetStream acks on its inbox prefix", async () => {
    const before = await storedMessages()
    const ack = await jetstream(agent).publish("outpost.logs.edge-1", "line", { msgID: "edge-1.1" })
    expect(ack.stream).toBe("OUTPOST")
    expect(ack.duplicate).toBe(false)
    expect(await storedMessages()).toBe(before + 1)
  })

  test("asks the collector on its control subject and gets the reply", async () => {
    const sub = collector.subscribe("outpost-ctl.*.>", {
      callback: (_e, m) => {
        m.respond(`hello ${m.subject}`)
      },
    })
    try {
      await collector.flush()
      const reply = await agent.request("outpost-ctl.edge-1.whoami", "", { timeout: 3000 })
      expect(reply.string()).toBe("hello outpost-ctl.edge-1.whoami")
    } finally {
      sub.unsubscribe()
    }
  })

  test.each([
    ["outpost.logs.other"],
    ["outpost.heartbeats.other"],
    ["outpost-ctl.other.whoami"],
    ["elsewhere"],
  ])(
    "cannot publish to %s (another agent's or nobody's subject): permission violation, nothing stored",
    async (subject) => {
      const before = await storedMessages()
      const attempt = jetstream(agent).publish(subject, "forged", { timeout: 3000 })
      await expect(attempt).rejects.toThrow(`Permissions Violation for Publish to "${subject}"`)
      expect(await storedMessages()).toBe(before)
    },
  )

  test.each([["outpost.>"], ["$JS.>"], ["_INBOX.>"], ["_INBOX_other.>"], [">"]])(
    "cannot subscribe to %s",
    async (subject) => {
      const sub = agent.subscribe(subject)
      const closed = await sub.closed
      expect(String(closed)).toContain(`Permissions Violation for Subscription to "${subject}"`)
    },
  )

  test.each([
    ["purge the stream", "$JS.API.STREAM.PURGE.OUTPOST", "{}"],
    ["delete the stream", "$JS.API.STREAM.DELETE.OUTPOST", ""],
    ["delete the consumer", "$JS.API.CONSUMER.DELETE.OUTPOST.collector", ""],
    [
      "create a consumer",
      "$JS.API.CONSUMER.CREATE.OUTPOST",
      JSON.stringify({ stream_name: "OUTPOST", config: { ack_policy: "none" } }),
    ],
    [
      "create a durable consumer",
      "$JS.API.CONSUMER.DURABLE.CREATE.OUTPOST.mine",
      JSON.stringify({ stream_name: "OUTPOST", config: { durable_name: "mine", ack_policy: "none" } }),
    ],
    ["get a message", "$JS.API.STREAM.MSG.GET.OUTPOST", JSON.stringify({ seq: 1 })],
    ["delete a message", "$JS.API.STREAM.MSG.DELETE.OUTPOST", JSON.stringify({ seq: 1 })],
    [
      "pull from the collector's consumer",
      "$JS.API.CONSUMER.MSG.NEXT.OUTPOST.collector",
      JSON.stringify({ batch: 1 }),
    ],
    ["read stream info", "$JS.API.STREAM.INFO.OUTPOST", ""],
  ])("cannot %s through the JetStream API", async (_what, subject, body) => {
    await expect(agent.request(subject, body, { timeout: 3000 })).rejects.toThrow(
      `Permissions Violation for Publish to "${subject}"`,
    )
  })

  test("and the stream and the consumer are intact afterwards, as the collector sees them", async () => {
    const jsm = await jetstreamManager(collector)
    expect((await jsm.streams.info("OUTPOST")).state.messages).toBeGreaterThanOrEqual(1)
    expect((await jsm.consumers.info("OUTPOST", "collector")).name).toBe("collector")
    const consumers = await jsm.consumers.list("OUTPOST").next()
    expect(consumers.map((c) => c.name)).toEqual(["collector"])
  })
})

describe("who may connect", () => {
  test.each([
    ["an unauthenticated client", {}],
    ["the collector user with a wrong password", { user: "collector", pass: "guess" }],
  ])("%s is refused", async (_who, auth) => {
    await expect(connect({ servers: server.url, timeout: 3000, ...auth })).rejects.toThrow(
      "Authorization Violation",
    )
  })

  test("an agent whose key is not enrolled is refused", async () => {
    await expect(connectAsAgent(server, testAgent("stranger"))).rejects.toThrow("Authorization Violation")
  })

  test("an agent presenting an enrolled key under another agent's inbox still only gets its own rights", async () => {
    const sneaky = await connectAsAgent(server, edge, { inboxPrefix: "_INBOX_other" })
    try {
      await expect(sneaky.request("outpost-ctl.edge-1.whoami", "", { timeout: 2000 })).rejects.toThrow(
        "Permissions Violation for Subscription",
      )
    } finally {
      await sneaky.close()
    }
  })
})

describe("setAgents", () => {
  test("enrolls a key at run time: the agent connects, nats-server keeps its pid, connected clients stay", async () => {
    const late: TestAgent = testAgent("late-1")
    await expect(connectAsAgent(server, late)).rejects.toThrow("Authorization Violation")
    const pid = server.pid
    const events: string[] = []
    for (const nc of [agent, collector]) {
      void (async () => {
        for await (const s of nc.status()) events.push(s.type)
      })()
    }
    await server.setAgents([edge, other, late])
    const lateNc = await connectAsAgent(server, late)
    try {
      expect((await jetstream(lateNc).publish("outpost.logs.late-1", "x")).stream).toBe("OUTPOST")
      expect(server.pid).toBe(pid)
      // the earlier connections never dropped and still work
      expect((await jetstream(agent).publish("outpost.logs.edge-1", "y")).stream).toBe("OUTPOST")
      await collector.flush()
      expect(events.filter((e) => e === "disconnect" || e === "reconnect")).toEqual([])
    } finally {
      await lateNc.close()
    }
  })

  test("refuses one key enrolled for two agents, naming both, and keeps the running config", async () => {
    const pid = server.pid
    await expect(
      server.setAgents([edge, { agent: "copycat", publicKeyRaw: edge.publicKeyRaw }]),
    ).rejects.toThrow("enrolled for two agents, 'edge-1' and 'copycat'")
    expect(server.pid).toBe(pid)
    const again = await connectAsAgent(server, other)
    await again.close()
  })
})

test("the collector password is made once (0600) and the same after a restart", async () => {
  await using own = tempDir("outpost-local-nats-pw-")
  const first = await startTestServer(own.path, [])
  const password = first.server.password
  await first.server.stop()
  const path = join(own.path, "nats/collector.password")
  expect(statSync(path).mode & 0o777).toBe(0o600)
  expect(statSync(join(own.path, "nats/nats-server.conf")).mode & 0o777).toBe(0o600)
  const second = await startTestServer(own.path, [], { port: first.port })
  try {
    expect(second.server.password).toBe(password)
    expect(readFileSync(path, "utf8").trim()).toBe(password)
    const nc = await connectAsCollector(second.server)
    await nc.close()
  } finally {
    await second.server.stop()
  }
})
