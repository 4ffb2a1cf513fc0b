import { afterEach, expect, setDefaultTimeout, test } from "bun:test"
import { jetstream } from "@nats-io/jetstream"
import { connectNats } from "../../agent/transport/nats-connection.ts"
import { parseConfig } from "../../shared/config/load.ts"
import type { LocalNatsTls, NatsTls } from "../../shared/config/nats-schema.ts"
import { freePort, recordingLogger, tempDir, waitFor } from "../../test/harness/index.ts"
import { type CollectorConfig, CollectorConfigSchema } from "../config/schema.ts"
import { connectCollector, localNatsOptions } from "./connect.ts"
import { startLocalNatsServer } from "./local-server.ts"
import { makeTestCerts, type TestCerts } from "./test-certs.ts"
import { createStream, type TestAgent, testAgent } from "./test-fixture.ts"

setDefaultTimeout(60_000)

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function collectorConfig(dataDir: string, nats: Record<string, unknown>): CollectorConfig {
  return parseConfig({ data_dir: dataDir, enrolled_keys: "/unused", nats }, CollectorConfigSchema)
}

/** A local nats-server with TLS started from config the way the collector does it, and one enrolled agent. */
async function tlsSetup(localTls: (certs: TestCerts) => LocalNatsTls) {
  const dir = tempDir("outpost-nats-tls-")
  cleanups.push(() => dir[Symbol.asyncDispose]())
  const certs = makeTestCerts(dir.path)
  const agent = testAgent("tls-agent")
  const config = collectorConfig(dir.path, { local_port: await freePort(), local_tls: localTls(certs) })
  const log = recordingLogger("collector")
  const logs = log.messages
  const local = await startLocalNatsServer(localNatsOptions(config, [agent], log, { onFatal: () => {} }))
  cleanups.push(() => local.stop())
  return { dir: dir.path, certs, agent, config, local, logs, log }
}

function connectAgent(
  url: string,
  agent: TestAgent,
  tls: NatsTls | undefined,
  logs: string[],
  signal?: AbortSignal,
) {
  return connectNats([url], "tls-agent", {
    agent: agent.agent,
    auth: { type: "agent_key" },
    tls,
    privateKey: agent.privateKey,
    publicKeyRaw: agent.publicKeyRaw,
    log: (m) => logs.push(m),
    signal,
  })
}

test("local TLS: the collector verifies the server against the CA, an agent trusting the CA connects and publishes", async () => {
  const t = await tlsSetup((c) => ({
    cert_file: c.serverCert,
    key_file: c.serverKey,
    ca_file: c.caFile,
    verify_clients: false,
  }))
  expect(t.local.url).toStartWith("tls://127.0.0.1:")
  const nc = await connectCollector(t.config, t.local, t.log)
  cleanups.push(() => nc.close())
  await createStream(nc)
  const agentLogs: string[] = []
  const agentNc = await connectAgent(t.local.url, t.agent, { ca_file: t.certs.caFile }, agentLogs)
  cleanups.push(() => agentNc.close())
  expect((await jetstream(agentNc).publish("outpost.logs.tls-agent", "over tls")).stream).toBe("OUTPOST")
})

test("a client that does not trust the server's CA fails with an error saying what to set", async () => {
  const t = await tlsSetup((c) => ({
    cert_file: c.serverCert,
    key_file: c.serverKey,
    ca_file: c.caFile,
    verify_clients: false,
  }))
  const wrongCa = { ...t.config, nats: { ...t.config.nats, tls: { ca_file: t.certs.otherCaFile } } }
  const failed = connectCollector(wrongCa, t.local, t.log)
  await expect(failed).rejects.toThrow(
    `TLS to NATS at ${t.local.url} failed: unable to verify the first certificate; set nats.tls.ca_file`,
  )
  // the agent never exits: it says why, and keeps trying
  const agentLogs: string[] = []
  const abort = new AbortController()
  const agent = connectAgent(t.local.url, t.agent, { ca_file: t.certs.otherCaFile }, agentLogs, abort.signal)
  await waitFor("the agent's report", () => agentLogs.length > 0)
  expect(agentLogs[0]).toBe(
    `cannot connect to NATS at ${t.local.url}: unable to verify the first certificate; retrying`,
  )
  abort.abort()
  await expect(agent).rejects.toThrow("gave up connecting")
})

test("verify_clients: the collector and an agent with a client certificate connect, one without is kept out", async () => {
  const t = await tlsSetup((c) => ({
    cert_file: c.serverCert,
    key_file: c.serverKey,
    ca_file: c.caFile,
    verify_clients: true,
  }))
  const nc = await connectCollector(t.config, t.local, t.log)
  cleanups.push(() => nc.close())
  await createStream(nc)
  const withCert = { ca_file: t.certs.caFile, cert_file: t.certs.clientCert, key_file: t.certs.clientKey }
  const agentNc = await connectAgent(t.local.url, t.agent, withCert, [])
  cleanups.push(() => agentNc.close())
  expect((await jetstream(agentNc).publish("outpost.logs.tls-agent", "mutual")).stream).toBe("OUTPOST")

  const logs: string[] = []
  const abort = new AbortController()
  const without = connectAgent(t.local.url, t.agent, { ca_file: t.certs.caFile }, logs, abort.signal)
  await waitFor("the refusal of a client without certificate", () => logs.length > 0, 30_000)
  expect(logs[0]).toBe(
    `cannot connect to NATS at ${t.local.url}: timeout (if the server requires client certificates, set nats.tls.cert_file and key_file); retrying`,
  )
  abort.abort()
  await expect(without).rejects.toThrow("gave up connecting")
})

test("an external NATS (nats.url) with user_password and TLS: the collector connects with nats.auth and nats.tls", async () => {
  const t = await tlsSetup((c) => ({ cert_file: c.serverCert, key_file: c.serverKey, verify_clients: false }))
  const external = collectorConfig(t.dir, {
    url: t.local.url,
    auth: { type: "user_password", user: t.local.user, password: t.local.password },
    tls: { ca_file: t.certs.caFile },
  })
  const nc = await connectCollector(external, undefined, t.log)
  cleanups.push(() => nc.close())
  await nc.flush()
  const wrong = collectorConfig(t.dir, {
    url: t.local.url,
    auth: { type: "user_password", user: t.local.user, password: "nope" },
    tls: { ca_file: t.certs.caFile },
  })
  await expect(connectCollector(wrong, undefined, t.log)).rejects.toThrow(
    `NATS at ${t.local.url} refused the collector (Authorization Violation): check nats.auth`,
  )
})
