import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { jetstream } from "@nats-io/jetstream"
import { connect, type NatsConnection, headers as natsHeaders } from "@nats-io/transport-node"
import { parseConfig } from "../../shared/config/load.ts"
import { natsServerPath } from "../../shared/nats-server-path.ts"
import { type SignedEnvelope, signEnvelope } from "../../shared/protocol/envelope.ts"
import {
  formatPublicKeyLine,
  generateAgentKeyPair,
  keyId,
  loadPrivateKey,
} from "../../shared/protocol/keys.ts"
import { encodeLogsBody, type LogPart, MAX_LOGS_PARTS } from "../../shared/protocol/logs-body.ts"
import { freePort, recordingLogger, tempDir, waitFor } from "../../test/harness/index.ts"
import { CollectorConfigSchema } from "../config/schema.ts"
import { type RunningCollector, startCollector } from "../service.ts"

// Real nats-server, DuckDB and 200,000 parts on a busy shared machine.
setDefaultTimeout(60_000)

const te = new TextEncoder()
const agentA = loadPrivateKey(generateAgentKeyPair().privateKeyPem)
const agentB = loadPrivateKey(generateAgentKeyPair().privateKeyPem)
const MAX_PAYLOAD = 8 * 1024 * 1024
let seq = 1

/** A signed logs envelope of one-line parts `[offset, text]` in one file generation. */
function logsEnvelope(agent: string, key: typeof agentA, gen: string, lines: Array<[number, string]>) {
  const chunks = lines.map(([, text]) => te.encode(text))
  const parts: LogPart[] = lines.map(([o], i) => ({ f: 0, o, n: (chunks[i] as Uint8Array).length, at: 1 }))
  return signEnvelope({
    privateKey: key.privateKey,
    keyId: keyId(key.publicKeyRaw),
    agent,
    host: "web-1",
    kind: "logs",
    seq: seq++,
    count: lines.length,
    sentAt: Date.now(),
    body: encodeLogsBody([{ path: "/var/log/app.log", gen }], [], parts, chunks),
  })
}

/** nats-server with JetStream and a payload limit large enough for envelopes of 100,000 parts (~3 MB). */
async function startBigPayloadNats(dir: string) {
  const port = await freePort()
  const monitor = await freePort()
  const conf = join(dir, "nats.conf")
  writeFileSync(
    conf,
    [
      `listen: "127.0.0.1:${port}"`,
      `http: "127.0.0.1:${monitor}"`,
      `max_payload: ${MAX_PAYLOAD}`,
      `jetstream { store_dir: ${JSON.stringify(join(dir, "nats"))} }`,
      "",
    ].join("\n"),
  )
  const proc = Bun.spawn([natsServerPath(), "-c", conf], { stdout: "ignore", stderr: "ignore" })
  await waitFor("nats-server", async () => {
    if (proc.exitCode !== null) throw new Error(`nats-server exited with ${proc.exitCode}`)
    return (await fetch(`http://127.0.0.1:${monitor}/healthz?js-enabled-only=true`)).ok
  })
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      proc.kill("SIGTERM")
      await proc.exited
    },
  }
}

describe("a hostile agent cannot stall the others", () => {
  let dir: ReturnType<typeof tempDir>
  let nats: Awaited<ReturnType<typeof startBigPayloadNats>>
  let collector: RunningCollector
  let nc: NatsConnection

  const publish = async (env: SignedEnvelope) => {
    const h = natsHeaders()
    for (const [k, v] of Object.entries(env.headers)) h.set(k, v)
    return await jetstream(nc).publish(env.subject, env.body, { headers: h, timeout: 30_000 })
  }
  const sql = async (q: string) => {
    const res = await fetch(`${collector.httpUrl}/sql?q=${encodeURIComponent(q)}`)
    return ((await res.json()) as { rows: Record<string, unknown>[] }).rows
  }

  beforeAll(async () => {
    dir = tempDir()
    nats = await startBigPayloadNats(dir.path)
    writeFileSync(
      join(dir.path, "agents.pub"),
      `${formatPublicKeyLine(agentA.publicKeyRaw, "edge-a")}\n${formatPublicKeyLine(agentB.publicKeyRaw, "edge-b")}\n`,
    )
    const config = parseConfig(
      {
        data_dir: dir.path,
        enrolled_keys: join(dir.path, "agents.pub"),
        nats: { url: nats.url },
        http: { port: 0 },
        max_envelope_bytes: MAX_PAYLOAD,
      },
      CollectorConfigSchema,
    )
    collector = await startCollector(config, recordingLogger("collector"))
    nc = await connect({ servers: nats.url })
  })
  afterAll(async () => {
    await nc?.close()
    await collector?.stop()
    await nats?.stop()
    await dir?.[Symbol.asyncDispose]()
  })

  test("200,000 gapped one-byte parts from A; B's line is queryable within seconds, not minutes, A's rows are its distinct offsets", async () => {
    // Two envelopes at the part bound; offsets 2k repeat within and across them: 130,000 distinct lines.
    const hostile = (from: number) =>
      logsEnvelope(
        "edge-a",
        agentA,
        "ga",
        Array.from({ length: MAX_LOGS_PARTS }, (_, i) => [2 * (from + ((i * 7919) % 80_000)), "x"]),
      )
    const [a1, a2] = [hostile(0), hostile(50_000)]
    const normal = logsEnvelope("edge-b", agentB, "gb", [[0, "hello from b"]])
    await Promise.all([publish(a1), publish(a2)])
    const published = performance.now()
    await publish(normal)
    await waitFor(
      "B's line",
      async () => (await sql("SELECT line FROM logs WHERE agent = 'edge-b'"))[0]?.line === "hello from b",
    )
    const latencyMs = performance.now() - published
    if (process.env.OUTPOST_TEST_LOG) console.log(`B's line queryable after ${Math.round(latencyMs)} ms`)
    // a stall detector, not a speed target: the attack stalled ingestion for 80-208 s; here it takes about 1 s
    // (bench:hostile), and a loaded 2-core CI machine has been seen at 2.2 s
    expect(latencyMs).toBeLessThan(10_000)
    await waitFor(
      "A's rows",
      async () =>
        Number((await sql("SELECT count(*) AS n FROM logs WHERE agent = 'edge-a'"))[0]?.n) === 130_000,
    )
    expect(
      await sql(`SELECT count(*) AS n, count(DISTINCT "offset") AS d FROM logs WHERE agent = 'edge-a'`),
    ).toEqual([{ n: 130_000, d: 130_000 }])
    const status = (await (await fetch(`${collector.httpUrl}/metrics`)).text()).match(
      /outpost_collector_records_received_total (\d+)/,
    )
    // Outpost-Count is checked against the body, so the records counted are real lines.
    expect(Number(status?.[1])).toBe(2 * MAX_LOGS_PARTS + 1)
  })
})
