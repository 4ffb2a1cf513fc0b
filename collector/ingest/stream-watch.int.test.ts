import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { parseConfig } from "../../shared/config/load.ts"
import { formatPublicKeyLine } from "../../shared/protocol/keys.ts"
import {
  logsEnvelope,
  newTestKey,
  publishEnvelope,
  queryNumber,
  recordingLogger,
  startNatsServer,
  tempDir,
  waitFor,
} from "../../test/harness/index.ts"
import { CollectorConfigSchema } from "../config/schema.ts"
import { startCollector } from "../service.ts"

setDefaultTimeout(60_000)

const key = newTestKey()
let seq = 1

/** One line, each envelope at its own offset. */
const envelope = (line: string) =>
  logsEnvelope({ agent: "edge-1", key, seq, offset: seq++ * 1000, gen: "g1", lines: [line] })

describe("stream and consumer deleted under the collector", () => {
  test("each is detected, recreated from the config, logged and counted, and ingestion goes on", async () => {
    await using nats = await startNatsServer()
    await using dir = tempDir()
    writeFileSync(join(dir.path, "keys"), `${formatPublicKeyLine(key.publicKeyRaw, "edge-1")}\n`)
    const log = recordingLogger("collector")
    const logs = log.messages
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
      log,
    )
    const nc = await connect({ servers: nats.url })
    try {
      const js = jetstream(nc)
      const jsm = await jetstreamManager(nc)
      const publish = (line: string) => publishEnvelope(js, envelope(line))
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
