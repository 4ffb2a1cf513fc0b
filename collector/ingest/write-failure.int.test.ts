import { expect, setDefaultTimeout, test } from "bun:test"
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
  querySql,
  recordingLogger,
  startNatsServer,
  tempDir,
  waitFor,
} from "../../test/harness/index.ts"
import { CollectorConfigSchema } from "../config/schema.ts"
import { startCollector } from "../service.ts"
import { DuckDbWriter } from "../sinks/duckdb/writer.ts"
import { MAX_WRITE_ATTEMPTS } from "./process-batch.ts"

// Real nats-server and DuckDB; the poison is redelivered every 2 s until its fifth attempt (about 10 s).
setDefaultTimeout(60_000)

const key = newTestKey()
const POISON = "a line this database refuses"

/**
 * Prepares a database file that refuses one line while writing everything else: a unique index on the line text,
 * and a row that already holds the poison line. No value a verified envelope can carry was found that DuckDB
 * refuses (NUL bytes and lone surrogates in paths, generations, lines and rules, offsets and times up to 2^53 all
 * write; Outpost-Sent-At is range-checked at parse time), so the refusal is made in DuckDB itself: a real
 * constraint error on the real write path, while the storage probe and every other envelope still write.
 */
async function databaseRefusing(path: string, line: string): Promise<void> {
  const w = await DuckDbWriter.open(path)
  // File id 0 has no log_files row, so the row is not in the `logs` view.
  await w.query(
    `INSERT INTO log_lines (file_id, "offset", line, truncated, read_at, received_at)
     VALUES (0, 0, $line, false, TIMESTAMP '2000-01-01', TIMESTAMP '2000-01-01')`,
    { line },
  )
  await w.query("CREATE UNIQUE INDEX refuse_repeated_line ON log_lines (line)")
  await w.close()
}

test("an envelope DuckDB refuses: the good one beside it lands; the poison is retried, recorded once as unwritable and quarantined; nothing stays pending", async () => {
  await using nats = await startNatsServer()
  await using dir = tempDir()
  const duckdbFile = join(dir.path, "outpost.duckdb")
  await databaseRefusing(duckdbFile, POISON)
  const keysFile = join(dir.path, "enrolled_keys")
  writeFileSync(keysFile, `${formatPublicKeyLine(key.publicKeyRaw, "edge-1")}\n`)
  const logger = recordingLogger("collector")
  const log = logger.messages
  const collector = await startCollector(
    parseConfig(
      {
        data_dir: dir.path,
        duckdb_file: duckdbFile,
        enrolled_keys: keysFile,
        nats: { url: nats.url },
        http: { port: 0 },
        // Both envelopes usually share the first batch, so its failed write is split and retried message by message.
        consumer: { batch_max_wait_ms: 200 },
      },
      CollectorConfigSchema,
    ),
    logger,
  )
  const nc = await connect({ servers: nats.url })
  try {
    const js = jetstream(nc)
    const jsm = await jetstreamManager(nc)
    const good = logsEnvelope({ agent: "edge-1", key, seq: 1, lines: ["good line"], gen: "g-good" })
    const poison = logsEnvelope({ agent: "edge-1", key, seq: 2, lines: [POISON], gen: "g-poison" })
    await publishEnvelope(js, good)
    const poisonAck = await publishEnvelope(js, poison)
    const sql = (q: string) => queryNumber(collector.httpUrl, q)
    // Until the poison is settled for good it is pending or ack-pending (a nak'd message waits as ack-pending).
    await waitFor(
      "the consumer to have nothing pending or unacknowledged",
      async () => {
        const info = await jsm.consumers.info("OUTPOST", "collector")
        return info.num_pending === 0 && info.num_ack_pending === 0
      },
      45_000,
    )
    expect(await sql("SELECT count(*) AS n FROM logs WHERE line = 'good line'")).toBe(1)
    expect(await sql("SELECT count(*) AS n FROM logs")).toBe(1)
    const errors = await querySql(
      collector.httpUrl,
      "SELECT reason, stream_seq, agent, message FROM processing_errors",
    )
    expect(errors.map(({ reason, stream_seq, agent }) => ({ reason, stream_seq, agent }))).toEqual([
      { reason: "unwritable", stream_seq: poisonAck.seq, agent: "edge-1" },
    ])
    expect(String(errors[0]?.message)).toContain(`not written after ${MAX_WRITE_ATTEMPTS} attempts`)
    expect(String(errors[0]?.message)).toContain("unique constraint")
    // Kept for an operator: the quarantine holds the poison, under its reason and agent.
    const quarantine = await jsm.streams.info("OUTPOST_QUARANTINE", {
      subjects_filter: "outpost-quarantine.>",
    })
    expect(quarantine.state.subjects).toEqual({ "outpost-quarantine.unwritable.edge-1": 1 })
    const metrics = await (await fetch(`${collector.httpUrl}/metrics`)).text()
    expect(metrics).toContain('outpost_collector_envelopes_quarantined_total{reason="unwritable"} 1')
    const retries = log.filter((l) => l.includes("will be redelivered"))
    expect(retries).toHaveLength(MAX_WRITE_ATTEMPTS - 1)
  } finally {
    await nc.close()
    await collector.stop()
  }
})
