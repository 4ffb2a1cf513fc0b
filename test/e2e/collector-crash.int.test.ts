import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { formatPublicKeyLine } from "../../shared/protocol/keys.ts"
import {
  collectorCommand,
  freePort,
  logsEnvelope,
  newTestKey,
  publishEnvelope,
  queryNumber,
  spawnLogged,
  startNatsServer,
  tempDir,
  waitFor,
  writeConfig,
} from "../harness/index.ts"

setDefaultTimeout(90_000)

const key = newTestKey()
const envelope = (n: number) =>
  logsEnvelope({ agent: "edge-1", key, seq: 5000 + n, offset: n * 100, gen: "g1", lines: [`held line ${n}`] })

describe("collector crash", () => {
  test("kill -9 while it holds delivered, unacked messages: on the default config every row is there within 10 s of the restart", async () => {
    await using nats = await startNatsServer()
    await using dir = tempDir()
    writeFileSync(join(dir.path, "keys"), `${formatPublicKeyLine(key.publicKeyRaw, "edge-1")}\n`)
    const httpPort = await freePort()
    const httpUrl = `http://127.0.0.1:${httpPort}`
    // Nothing about the consumer is set: the defaults are what is tested.
    const config = writeConfig(join(dir.path, "collector.json"), {
      data_dir: join(dir.path, "data"),
      enrolled_keys: join(dir.path, "keys"),
      nats: { url: nats.url },
      http: { port: httpPort },
    })
    const start = async () => {
      const c = spawnLogged(collectorCommand(config), join(dir.path, "collector.log"))
      await waitFor(
        "collector health",
        async () => (await fetch(`${httpUrl}/health`).catch(() => null))?.ok === true,
      )
      return c
    }
    const first = await start()
    const nc = await connect({ servers: nats.url })
    const js = jetstream(nc)
    const jsm = await jetstreamManager(nc)
    // Frozen, the collector cannot ack; its open pull request still takes the messages (delivered, ack pending).
    first.proc.kill("SIGSTOP")
    for (let n = 0; n < 40; n++) await publishEnvelope(js, envelope(n))
    await waitFor("messages delivered to the frozen collector", async () => {
      return (await jsm.consumers.info("OUTPOST", "collector")).num_ack_pending === 40
    })
    await first.kill9()
    const restarted = Date.now()
    const second = await start()
    try {
      await waitFor(
        "all 40 rows",
        async () => (await queryNumber(httpUrl, "SELECT count(*) AS n FROM logs")) === 40,
        30_000,
      )
      const seconds = (Date.now() - restarted) / 1000
      console.log(`all rows ${seconds.toFixed(1)} s after the restart began`)
      expect(seconds).toBeLessThan(10)
    } finally {
      await second.stop()
      await nc.close()
    }
  })
})
