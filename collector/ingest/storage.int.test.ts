import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { rmSync, statfsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { parseConfig } from "../../shared/config/load.ts"
import { formatPublicKeyLine } from "../../shared/protocol/keys.ts"
import {
  logsEnvelope,
  mountTmpfs,
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

setDefaultTimeout(90_000)

const key = newTestKey()

/** Envelope `n`: `lines` lines of about 100 bytes at offset n * 1,000,000 of one file. */
const envelope = (n: number, lines: number) =>
  logsEnvelope({
    agent: "edge-1",
    key,
    seq: 1000 + n,
    offset: n * 1_000_000,
    gen: "g1",
    lines: Array.from({ length: lines }, (_, i) => `envelope ${n} line ${i} ${"p".repeat(80)}`),
  })

describe("a database that cannot write", () => {
  const dir = tempDir()
  const mount = join(dir.path, "db")
  const mounted = mountTmpfs(mount, "24m")
  afterAll(async () => {
    if (mounted) Bun.spawnSync(["umount", "-l", mount])
    await dir[Symbol.asyncDispose]()
  })

  test.skipIf(!mounted)(
    "disk full under load: nothing is acked or rejected, /health says why, and every line lands once space returns",
    async () => {
      await using nats = await startNatsServer()
      writeFileSync(join(dir.path, "keys"), `${formatPublicKeyLine(key.publicKeyRaw, "edge-1")}\n`)
      const log = recordingLogger("collector")
      const collector = await startCollector(
        parseConfig(
          {
            data_dir: dir.path,
            duckdb_file: join(mount, "outpost.duckdb"),
            enrolled_keys: join(dir.path, "keys"),
            nats: { url: nats.url },
            http: { port: 0 },
            // A 1 s ack_wait: the outage below lasts longer, so only keep-alives prevent redeliveries.
            consumer: { batch_max_messages: 4, batch_max_wait_ms: 5, ack_wait_s: 1 },
          },
          CollectorConfigSchema,
        ),
        log,
      )
      try {
        const nc = await connect({ servers: nats.url })
        const js = jetstream(nc)
        const publish = (n: number) => publishEnvelope(js, envelope(n, 200))
        await publish(0)
        const count = () => queryNumber(collector.httpUrl, "SELECT count(*) AS n FROM logs")
        await waitFor("first envelope written", async () => (await count()) === 200)
        // Leave about 64 KiB free, then send 60 envelopes (about 2.5 MB of lines).
        const fs = statfsSync(mount)
        writeFileSync(join(mount, "filler"), Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - 64 * 1024)))
        for (let n = 1; n <= 60; n++) await publish(n)
        await waitFor("/health to report the storage problem", async () => {
          return (await fetch(`${collector.httpUrl}/health`)).status === 503
        })
        const health = (await (await fetch(`${collector.httpUrl}/health`)).json()) as { problems: string[] }
        expect(health.problems.some((p) => p.startsWith("storage: ") && /space/i.test(p))).toBe(true)
        const metrics = await (await fetch(`${collector.httpUrl}/metrics`)).text()
        expect(metrics).toContain("outpost_collector_storage_writable 0")
        // Every reason is exported, at 0: nothing was quarantined or rejected for the outage.
        expect(metrics).not.toMatch(/outpost_collector_envelopes_(quarantined|rejected)_total\{[^}]*\} [1-9]/)
        const jsm = await jetstreamManager(nc)
        // Four failed attempts take 0.5 + 1 + 2 s of backoff: well past the 1 s ack_wait.
        await waitFor("four attempts while DuckDB cannot write", async () => {
          const text = await (await fetch(`${collector.httpUrl}/metrics`)).text()
          return Number(/outpost_collector_flush_failures_total (\d+)/.exec(text)?.[1]) >= 4
        })
        const held = await jsm.consumers.info("OUTPOST", "collector")
        expect(held.num_pending + held.num_ack_pending).toBeGreaterThan(0)
        // Held messages, in the batch or waiting for one, were kept alive: none came back as a redelivery.
        expect(held.num_redelivered).toBe(0)
        rmSync(join(mount, "filler"))
        await waitFor("every line after space returned", async () => (await count()) === 61 * 200, 60_000)
        expect((await fetch(`${collector.httpUrl}/health`)).status).toBe(200)
        // Said once when it began (warn), once when it ended (info): not once per failed attempt.
        expect(log.at("warn").filter((m) => m.startsWith("DuckDB cannot write"))).toHaveLength(1)
        expect(log.at("info").filter((m) => m.startsWith("DuckDB writes again"))).toHaveLength(1)
        expect(await queryNumber(collector.httpUrl, 'SELECT count(DISTINCT "offset") AS n FROM logs')).toBe(
          61 * 200,
        )
        await nc.close()
      } finally {
        await collector.stop()
      }
    },
  )
})
