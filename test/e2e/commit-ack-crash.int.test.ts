import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import type { SignedEnvelope } from "../../shared/protocol/envelope.ts"
import { formatPublicKeyLine } from "../../shared/protocol/keys.ts"
import {
  type Child,
  collectorCommand,
  entriesEnvelope,
  freePort,
  logsEnvelope,
  newTestKey,
  publishEnvelope,
  querySql,
  spawnLogged,
  startNatsServer,
  tempDir,
  urlResult,
  waitFor,
  writeConfig,
} from "../harness/index.ts"

// Real nats-server and collector processes; the collector kills itself at the failpoint between COMMIT and ack.
setDefaultTimeout(90_000)

const AGENT = "edge-1"
const PAIRS = 10 // logs and urls envelopes each, interleaved
const PER_ENVELOPE = 3 // lines or results
const key = newTestKey()

/** 2 * PAIRS envelopes of one agent, seq 1.., alternating logs and urls; and what they hold. */
function buildEnvelopes() {
  const envelopes: SignedEnvelope[] = []
  const lines: { offset: number; line: string }[] = []
  const ids: number[] = []
  let offset = 0
  for (let n = 0; n < PAIRS; n++) {
    const text = Array.from({ length: PER_ENVELOPE }, (_, i) => `crash line ${n}.${i}`)
    envelopes.push(logsEnvelope({ agent: AGENT, key, seq: 2 * n + 1, offset, gen: "g1", lines: text }))
    for (const line of text) {
      lines.push({ offset, line })
      offset += Buffer.byteLength(line) + 1
    }
    const results = Array.from({ length: PER_ENVELOPE }, (_, i) => urlResult(n * PER_ENVELOPE + i + 1))
    envelopes.push(entriesEnvelope({ agent: AGENT, key, seq: 2 * n + 2, kind: "urls", entries: results }))
    ids.push(...results.map((r) => r.id))
  }
  return { envelopes, lines, ids }
}

/** Runs queries on the DuckDB file itself, read-only (no collector has it open). */
async function readDuckDb(path: string, sqls: string[]): Promise<Record<string, unknown>[][]> {
  const db = await DuckDBInstance.create(path, { access_mode: "READ_ONLY" })
  const conn = await db.connect()
  try {
    const out: Record<string, unknown>[][] = []
    for (const sql of sqls) out.push((await conn.runAndReadAll(sql)).getRowObjectsJson())
    return out
  } finally {
    conn.closeSync()
    db.closeSync()
  }
}

/** One counter of the collector's /metrics (0 when absent). */
async function metric(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text()
  const line = text.split("\n").find((l) => l.startsWith(`${name} `))
  return line ? Number(line.slice(name.length + 1)) : 0
}

describe("commit-ack crash", () => {
  test("one collector batch holding logs and urls envelopes; a collector kill -9 between commit and ack duplicates neither", async () => {
    await using nats = await startNatsServer()
    await using dir = tempDir()
    writeFileSync(join(dir.path, "keys"), `${formatPublicKeyLine(key.publicKeyRaw, AGENT)}\n`)
    const httpPort = await freePort()
    const httpUrl = `http://127.0.0.1:${httpPort}`
    const total = 2 * PAIRS
    const config = writeConfig(join(dir.path, "collector.json"), {
      data_dir: join(dir.path, "data"),
      enrolled_keys: join(dir.path, "keys"),
      nats: { url: nats.url },
      http: { port: httpPort },
      // One batch takes every message waiting (it is cut at `total`, long before the wait ends); a short
      // ack_wait brings the messages of the killed collector back soon.
      consumer: { batch_max_messages: total, batch_max_wait_ms: 10_000, ack_wait_s: 2 },
    })
    const logPath = join(dir.path, "collector.log")
    const children: Child[] = []
    const start = async (env: Record<string, string> = {}) => {
      const c = spawnLogged(collectorCommand(config), logPath, env)
      children.push(c)
      await waitFor(
        "collector health",
        async () =>
          (await fetch(`${httpUrl}/health`).catch(() => null))?.ok === true || c.proc.exitCode !== null,
      )
      return c
    }
    const nc = await connect({ servers: nats.url })
    try {
      const js = jetstream(nc)
      const jsm = await jetstreamManager(nc)
      const consumerInfo = () => jsm.consumers.info("OUTPOST", "collector")

      // A first run creates the stream and the consumer; the messages then wait in the stream for the next one.
      const setup = await start()
      expect(await setup.stop()).toBe(0)
      const { envelopes, lines, ids } = buildEnvelopes()
      for (const e of envelopes) await publishEnvelope(js, e)
      expect((await consumerInfo()).num_pending).toBe(total)

      // Its first fetch holds all of them: one batch, both kinds; killed after its COMMIT, before any ack.
      const crashing = spawnLogged(collectorCommand(config), logPath, {
        OUTPOST_FAILPOINTS: "collector.after-commit",
      })
      children.push(crashing)
      await waitFor(
        "the collector killed at the failpoint",
        () => crashing.proc.exitCode !== null || crashing.proc.signalCode !== null,
        30_000,
      )
      expect(crashing.proc.signalCode).toBe("SIGKILL")
      expect(await Bun.file(logPath).text()).toContain(
        "failpoint collector.after-commit: killing the process",
      )
      const afterKill = await consumerInfo()
      expect(afterKill.delivered.stream_seq).toBe(total)
      expect(afterKill.ack_floor.stream_seq).toBe(0)
      expect(afterKill.num_pending + afterKill.num_ack_pending).toBe(total)

      // The killed collector committed exactly one batch, and it held every envelope of both kinds.
      const [kinds, committed] = await readDuckDb(join(dir.path, "data/outpost.duckdb"), [
        "SELECT kind, count(*)::INT AS n FROM envelopes GROUP BY kind ORDER BY kind",
        `SELECT (SELECT count(*) FROM log_lines)::INT AS lines, (SELECT count(*) FROM url_checks)::INT AS results,
                (SELECT count(DISTINCT received_at) FROM envelopes)::INT AS batches`,
      ])
      expect(kinds).toEqual([
        { kind: "logs", n: PAIRS },
        { kind: "urls", n: PAIRS },
      ])
      expect(committed).toEqual([{ lines: lines.length, results: ids.length, batches: 1 }])

      // Restarted without the failpoint: every message comes again and is acked as a duplicate, none written.
      const second = await start()
      await waitFor("the consumer drained", async () => {
        const info = await consumerInfo()
        return info.num_pending === 0 && info.num_ack_pending === 0
      })
      // Counted before each ack went out, so final once the server has every ack.
      expect(await metric(httpUrl, "outpost_collector_envelopes_duplicate_total")).toBe(total)
      expect(await metric(httpUrl, "outpost_collector_envelopes_accepted_total")).toBe(0)
      expect((await consumerInfo()).ack_floor.stream_seq).toBe(total)

      const q = (sql: string) => querySql(httpUrl, sql)
      const logRows = await q(`SELECT agent, file, gen, "offset", line FROM logs ORDER BY "offset"`)
      expect(logRows.map((r) => ({ offset: Number(r.offset), line: r.line }))).toEqual(lines)
      expect(new Set(logRows.map((r) => `${r.agent}|${r.file}|${r.gen}`))).toEqual(
        new Set([`${AGENT}|/var/log/app.log|g1`]),
      )
      const urlRows = await q("SELECT agent, entry_id FROM url_checks ORDER BY entry_id")
      expect(urlRows.map((r) => Number(r.entry_id))).toEqual(ids)
      expect(new Set(urlRows.map((r) => r.agent))).toEqual(new Set([AGENT]))
      const [counts] = await q(
        `SELECT (SELECT count(*) FROM (SELECT DISTINCT agent, file, gen, "offset" FROM logs)) AS log_keys,
                (SELECT count(*) FROM (SELECT DISTINCT agent, entry_id FROM url_checks)) AS url_keys,
                (SELECT count(*) FROM envelopes) AS envelopes,
                (SELECT count(*) FROM (SELECT DISTINCT agent, seq FROM envelopes)) AS envelope_keys,
                (SELECT count(*) FROM processing_errors) AS errors,
                (SELECT count(*) FROM entry_gaps) AS gaps`,
      )
      expect(Object.fromEntries(Object.entries(counts ?? {}).map(([k, v]) => [k, Number(v)]))).toEqual({
        log_keys: lines.length,
        url_keys: ids.length,
        envelopes: total,
        envelope_keys: total,
        errors: 0,
        gaps: 0,
      })
      expect(await second.stop()).toBe(0)
    } finally {
      for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) await c.kill9()
      await nc.close()
    }
  })
})
