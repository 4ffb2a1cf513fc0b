import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, headers as natsHeaders } from "@nats-io/transport-node"
import { parseConfig } from "../../shared/config/load.ts"
import { signEnvelope } from "../../shared/protocol/envelope.ts"
import {
  formatPublicKeyLine,
  generateAgentKeyPair,
  keyId,
  loadPrivateKey,
} from "../../shared/protocol/keys.ts"
import { encodeLogsBody } from "../../shared/protocol/logs-body.ts"
import { queryNumber, startNatsServer, tempDir, waitFor } from "../../test/harness/index.ts"
import { CollectorConfigSchema } from "../config/schema.ts"
import { startCollector } from "../service.ts"

setDefaultTimeout(60_000)

const key = loadPrivateKey(generateAgentKeyPair().privateKeyPem)
const te = new TextEncoder()
let seq = 1

function envelope(line: string) {
  const bytes = te.encode(`${line}\n`)
  const o = seq * 1000
  const body = encodeLogsBody(
    [{ path: "/var/log/app.log", gen: "g1" }],
    [{ f: 0, s: o, e: o + bytes.length }],
    [{ f: 0, o, n: bytes.length, raw: 1, at: Date.now() }],
    [bytes],
  )
  return signEnvelope({
    privateKey: key.privateKey,
    keyId: keyId(key.publicKeyRaw),
    agent: "edge-1",
    host: "h",
    kind: "logs",
    seq: seq++,
    count: 1,
    sentAt: Date.now(),
    body,
  })
}

describe("stream and consumer deleted under the collector", () => {
  test("each is detected, recreated from the config, logged and counted, and ingestion goes on", async () => {
    await using nats = await startNatsServer()
    await using dir = tempDir()
    writeFileSync(join(dir.path, "keys"), `${formatPublicKeyLine(key.publicKeyRaw, "edge-1")}\n`)
    const logs: string[] = []
    const collector = await startCollector(
      parseConfig(
        {
          data_dir: dir.path,
          enrolled_keys: join(dir.path, "keys"),
          nats: { url: nats.url },
          http: { port: 0 },
        },
        CollectorConfigSchema,
      ),
      (m) => {
        logs.push(m)
        if (process.env.OUTPOST_TEST_LOG) console.log(m)
      },
    )
    const nc = await connect({ servers: nats.url })
    try {
      const js = jetstream(nc)
      const jsm = await jetstreamManager(nc)
      const publish = async (line: string) => {
        const env = envelope(line)
        const h = natsHeaders()
        for (const [k, v] of Object.entries(env.headers)) h.set(k, v)
        await js.publish(env.subject, env.body, { headers: h, msgID: env.id })
      }
      const rows = () => queryNumber(collector.httpUrl, "SELECT count(*) AS n FROM logs")
      const metric = async (what: string) => {
        const text = await (await fetch(`${collector.httpUrl}/metrics`)).text()
        return text.includes(`outpost_collector_nats_recreated_total{what="${what}"} 1`)
      }
      await publish("before")
      await waitFor("first row", async () => (await rows()) === 1)

      // nats-server 2.9 sometimes fails a delete racing with the consumer's own state writes; an attacker retries.
      await waitFor("the consumer deleted", () => jsm.consumers.delete("OUTPOST", "collector"))
      await waitFor("consumer recreated", () => metric("consumer"))
      await publish("after the consumer was deleted")
      await waitFor("second row", async () => (await rows()) === 2)

      await waitFor("the stream deleted", () => jsm.streams.delete("OUTPOST"))
      await waitFor("stream recreated", () => metric("stream"))
      await waitFor("publishes work again", async () => {
        await publish("after the stream was deleted")
        return true
      })
      await waitFor("third row", async () => (await rows()) >= 3)
      expect(logs.some((l) => l.includes("the consumer was missing"))).toBe(true)
      expect(logs.some((l) => l.includes("the stream was missing"))).toBe(true)
      expect((await fetch(`${collector.httpUrl}/health`)).status).toBe(200)
    } finally {
      await nc.close()
      await collector.stop()
    }
  })
})
