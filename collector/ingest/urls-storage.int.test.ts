import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { rmSync, statfsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { parseConfig } from "../../shared/config/load.ts"
import { formatPublicKeyLine } from "../../shared/protocol/keys.ts"
import {
  entriesEnvelope,
  mountTmpfs,
  newTestKey,
  publishEnvelope,
  queryNumber,
  querySql,
  recordingLogger,
  startNatsServer,
  type TestKey,
  tempDir,
  urlResult,
  waitFor,
} from "../../test/harness/index.ts"
import { CollectorConfigSchema } from "../config/schema.ts"
import { startCollector } from "../service.ts"

setDefaultTimeout(90_000)

const AGENTS = ["edge-1", "edge-2"] as const
type Agent = (typeof AGENTS)[number]
const keys: Record<Agent, TestKey> = { "edge-1": newTestKey(), "edge-2": newTestKey() }
/** Envelopes per agent (the first of each is written before the disk fills) and results per envelope. */
const ENVELOPES = 31
const PER_ENVELOPE = 200
const TOTAL = AGENTS.length * ENVELOPES * PER_ENVELOPE
/**
 * The first 10 results of every envelope are down: three in a row turn the check down, two up ones back up.
 * So whichever batch is held, its attempts judge state changes, and a rolled-back one must leave no trace.
 */
const DOWN_PER_ENVELOPE = 10
const t0 = Date.now() - 86_400_000
const startedAt = (id: number) => t0 + id * 1000

/** Envelope `n` of `agent`: results n * 200 + 1 to (n + 1) * 200, one a second, of one check; 10 down, then up. */
const envelope = (agent: Agent, n: number) =>
  entriesEnvelope({
    agent,
    key: keys[agent],
    seq: 1000 + n,
    kind: "urls",
    entries: Array.from({ length: PER_ENVELOPE }, (_, i) => {
      const id = n * PER_ENVELOPE + i + 1
      const down = i < DOWN_PER_ENVELOPE
      return urlResult(id, {
        started_at: startedAt(id),
        ...(down ? { status: null, outcome: "down", reason: "refused", message: "connection refused" } : {}),
      })
    }),
  })

describe("a database that cannot write while URL results arrive", () => {
  const dir = tempDir()
  const mount = join(dir.path, "db")
  const mounted = mountTmpfs(mount, "24m")
  afterAll(async () => {
    if (mounted) Bun.spawnSync(["umount", "-l", mount])
    await dir[Symbol.asyncDispose]()
  })

  test.skipIf(!mounted)(
    "disk full under load: nothing is acked or rejected, and every result lands once, judged once, when space returns",
    async () => {
      await using nats = await startNatsServer()
      const lines = AGENTS.map((a) => formatPublicKeyLine(keys[a].publicKeyRaw, a))
      writeFileSync(join(dir.path, "keys"), `${lines.join("\n")}\n`)
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
      const nc = await connect({ servers: nats.url })
      try {
        const js = jetstream(nc)
        const jsm = await jetstreamManager(nc)
        const sql = (q: string) => queryNumber(collector.httpUrl, q)
        const count = () => sql("SELECT count(*) AS n FROM url_checks")
        for (const agent of AGENTS) await publishEnvelope(js, envelope(agent, 0))
        await waitFor(
          "the first envelope of each agent written",
          async () => (await count()) === AGENTS.length * PER_ENVELOPE,
        )
        // Leave about 64 KiB free, then send 60 envelopes (12,000 results, interleaved by agent as they arrive).
        const fs = statfsSync(mount)
        writeFileSync(join(mount, "filler"), Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - 64 * 1024)))
        for (let n = 1; n < ENVELOPES; n++)
          for (const agent of AGENTS) await publishEnvelope(js, envelope(agent, n))
        await waitFor("/health to report the storage problem", async () => {
          return (await fetch(`${collector.httpUrl}/health`)).status === 503
        })
        const health = (await (await fetch(`${collector.httpUrl}/health`)).json()) as { problems: string[] }
        expect(health.problems.some((p) => p.startsWith("storage: ") && /space/i.test(p))).toBe(true)
        // Four failed attempts take 0.5 + 1 + 2 s of backoff: well past the 1 s ack_wait.
        await waitFor("four attempts while DuckDB cannot write", async () => {
          const text = await (await fetch(`${collector.httpUrl}/metrics`)).text()
          return Number(/outpost_collector_flush_failures_total (\d+)/.exec(text)?.[1]) >= 4
        })
        const metrics = await (await fetch(`${collector.httpUrl}/metrics`)).text()
        expect(metrics).toContain("outpost_collector_storage_writable 0")
        // Every reason is exported, at 0: nothing was quarantined or rejected for the outage.
        expect(metrics).not.toMatch(/outpost_collector_envelopes_(quarantined|rejected)_total\{[^}]*\} [1-9]/)
        // Read before the tables: rows are committed before their ack, so what was acked by then is stored.
        const held = await jsm.consumers.info("OUTPOST", "collector")
        const acked = AGENTS.length * ENVELOPES - held.num_pending - held.num_ack_pending
        expect(acked).toBeLessThan(AGENTS.length * ENVELOPES)
        expect(acked).toBeLessThanOrEqual(await sql("SELECT count(*) AS n FROM envelopes"))
        expect(await count()).toBe(PER_ENVELOPE * (await sql("SELECT count(*) AS n FROM envelopes")))
        // Held messages, in the batch or waiting for one, were kept alive: none came back as a redelivery.
        expect(held.num_redelivered).toBe(0)
        expect(await sql("SELECT count(*) AS n FROM processing_errors")).toBe(0)

        rmSync(join(mount, "filler"))
        await waitFor("every result after space returned", async () => (await count()) === TOTAL, 60_000)
        await waitFor("the consumer to be drained", async () => {
          const info = await jsm.consumers.info("OUTPOST", "collector")
          return info.num_pending === 0 && info.num_ack_pending === 0
        })
        expect((await fetch(`${collector.httpUrl}/health`)).status).toBe(200)
        // Said once when it began (warn), once when it ended (info): not once per failed attempt.
        expect(log.at("warn").filter((m) => m.startsWith("DuckDB cannot write"))).toHaveLength(1)
        expect(log.at("info").filter((m) => m.startsWith("DuckDB writes again"))).toHaveLength(1)
        expect(await count()).toBe(TOTAL)
        expect(await sql("SELECT count(DISTINCT (agent, entry_id)) AS n FROM url_checks")).toBe(TOTAL)
        // Each id range once per agent: no attempt that rolled back left coverage behind, nor a gap.
        const coverage = await querySql(
          collector.httpUrl,
          "SELECT agent, kind, start_id, end_id FROM entry_coverage ORDER BY agent, start_id",
        )
        expect(coverage).toEqual(
          AGENTS.map((agent) => ({ agent, kind: "urls", start_id: 1, end_id: ENVELOPES * PER_ENVELOPE + 1 })),
        )
        expect(await sql("SELECT count(*) AS n FROM entry_gaps")).toBe(0)
        expect(await sql("SELECT count(*) AS n FROM processing_errors")).toBe(0)
        // The judged state did not move on a rolled-back attempt: every result judged in order, each change once.
        expect(await sql("SELECT count(*) AS n FROM url_checks WHERE NOT judged")).toBe(0)
        const changes = await querySql(
          collector.httpUrl,
          `SELECT agent, from_state, to_state, CAST((epoch_ms(changed_at) - ${t0}) // 1000 AS INTEGER) AS id
           FROM url_state_changes WHERE scope = 'agent' ORDER BY agent, changed_at`,
        )
        expect(changes).toEqual(
          AGENTS.flatMap((agent) =>
            Array.from({ length: ENVELOPES }, (_, n) => [
              { agent, from_state: n === 0 ? "unknown" : "up", to_state: "down", id: n * PER_ENVELOPE + 3 },
              { agent, from_state: "down", to_state: "up", id: n * PER_ENVELOPE + DOWN_PER_ENVELOPE + 2 },
            ]).flat(),
          ),
        )
        const states = await querySql(
          collector.httpUrl,
          "SELECT agent, state FROM url_check_state ORDER BY agent",
        )
        expect(states).toEqual(AGENTS.map((agent) => ({ agent, state: "up" })))
      } finally {
        await nc.close()
        await collector.stop()
      }
    },
  )
})
