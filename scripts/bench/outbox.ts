#!/usr/bin/env bun
/**
 * bench:outbox — throughput of the agent's durable outbox (bun:sqlite, WAL): append N entries of ~200 bytes in
 * batches as a source would, then drain it as the entries transport does (peek a batch, remove it) until empty;
 * then append again into a full outbox, where every append drops the oldest entries. Once per synchronous mode.
 *
 *   bun run bench:outbox [--entries 200000] [--batch 100] [--peek 5000] [--sync both|normal|full] [--keep]
 *   (each flag also as BENCH_<NAME>)
 */
import { statSync } from "node:fs"
import { join } from "node:path"
import { type OutboxSync, openOutbox } from "../../agent/outbox/index.ts"
import { encodeEntriesBody } from "../../shared/protocol/entries-body.ts"
import { benchDir, fmtInt, fmtMiB, MiB, Options, printBlock, round, runBench, targetNote } from "./lib.ts"

const opts = new Options(`bench:outbox — append and drain rates of the agent's outbox

  --entries N        entries appended, then drained (default 200000)
  --batch N          entries per append (default 100)
  --peek N           entries per peek when draining (default 5000, the transport's batch.max_entries)
  --sync MODE        both, normal or full: SQLite synchronous mode(s) to measure (default both)
  --max-runtime-s N  hard limit for the whole bench (default 600)
  --keep             keep the temp dir`)

const ENTRIES = opts.num("entries", 200_000)
const BATCH = Math.max(1, opts.num("batch", 100))
const PEEK = Math.max(1, opts.num("peek", 5000))
const SYNC = opts.str("sync", "both")
const MAX_RUNTIME_S = opts.num("max-runtime-s", 600)
const KEEP = opts.flag("keep")
const TARGET_PER_S = 50_000
const PEEK_BYTES = 900 * 1024
const COMMITS = 2000

if (!["both", "normal", "full"].includes(SYNC))
  throw new Error(`--sync must be both, normal or full, not '${SYNC}'`)
const modes: OutboxSync[] = SYNC === "both" ? ["normal", "full"] : [SYNC as OutboxSync]

/** A URL check result of about 200 bytes of JSON, as the urls source appends them. */
function entry(i: number): Record<string, unknown> {
  return {
    check: `check-${i % 50}`,
    url: `https://service-${i % 50}.example.com/health`,
    started_at: 1_700_000_000_000 + i,
    timings: { dns_ms: 1, connect_ms: 2, tls_ms: 5, first_byte_ms: 20 + (i % 7), total_ms: 31 },
    status: 200,
    bytes: 512,
    outcome: "up",
  }
}

const fileBytes = (path: string) =>
  ["", "-wal"].reduce((sum, suffix) => {
    try {
      return sum + statSync(`${path}${suffix}`).size
    } catch {
      return sum
    }
  }, 0)

type Result = {
  sync: OutboxSync
  appendPerS: number
  drainPerS: number
  encodeShare: number
  fullAppendPerS: number
  /** ms per append of one entry: a commit each, what the sync mode costs */
  commitMs: number
  fileBytes: number
  /** the file keeps its pages once drained (SQLite reuses them): an outage's size stays until the next one */
  drainedFileBytes: number
  entryBytes: number
  drained: number
  dropped: number
}

function measure(dir: string, sync: OutboxSync): Result {
  const path = join(dir, `outbox-${sync}.db`)
  const outbox = openOutbox({ path, maxBytes: 1024 * MiB, maxEntries: 10_000_000, sync })
  let started = performance.now()
  for (let i = 0; i < ENTRIES; i += BATCH) {
    const batch: Record<string, unknown>[] = []
    for (let j = i; j < Math.min(i + BATCH, ENTRIES); j++) batch.push(entry(j))
    outbox.append("urls", batch)
  }
  const appendSeconds = (performance.now() - started) / 1000
  const { bytes } = outbox.stats()
  const size = fileBytes(path)

  started = performance.now()
  let drained = 0
  let encodeSeconds = 0
  for (;;) {
    const peeked = outbox.peek("urls", PEEK, PEEK_BYTES)
    const last = peeked.entries.at(-1)
    if (!last) break
    const t = performance.now()
    encodeEntriesBody(peeked.entries, peeked.dropped)
    encodeSeconds += (performance.now() - t) / 1000
    outbox.remove("urls", last.id, peeked.dropped)
    drained += peeked.entries.length
  }
  const drainSeconds = (performance.now() - started) / 1000 - encodeSeconds
  outbox.close()
  const drainedSize = fileBytes(path)

  // a full outbox (an outage longer than the bound covers): every append drops as many of the oldest
  const bound = Math.max(1000, Math.floor(ENTRIES / 4))
  const full = openOutbox({
    path: join(dir, `outbox-full-${sync}.db`),
    maxBytes: 1024 * MiB,
    maxEntries: bound,
    sync,
  })
  started = performance.now()
  for (let i = 0; i < ENTRIES; i += BATCH) {
    const batch: Record<string, unknown>[] = []
    for (let j = i; j < Math.min(i + BATCH, ENTRIES); j++) batch.push(entry(j))
    full.append("urls", batch)
  }
  const fullSeconds = (performance.now() - started) / 1000
  const dropped = full.stats().dropped.urls ?? 0
  // one entry per append: a transaction (and under FULL an fsync of the WAL) each
  started = performance.now()
  for (let i = 0; i < COMMITS; i++) full.append("urls", [entry(i)])
  const commitMs = (performance.now() - started) / COMMITS
  full.close()

  return {
    sync,
    appendPerS: ENTRIES / appendSeconds,
    drainPerS: drained / drainSeconds,
    encodeShare: encodeSeconds,
    fullAppendPerS: ENTRIES / fullSeconds,
    commitMs,
    fileBytes: size,
    drainedFileBytes: drainedSize,
    entryBytes: bytes / ENTRIES,
    drained,
    dropped,
  }
}

await runBench("bench:outbox", MAX_RUNTIME_S, async () => {
  const benchStarted = performance.now()
  const dir = benchDir("outpost-bench-outbox-", KEEP)
  console.log(`bench:outbox in ${dir}: ${fmtInt(ENTRIES)} entries, appends of ${BATCH}, peeks of ${PEEK}`)
  const results: Result[] = []
  for (const sync of modes) {
    console.log(`\n-- synchronous = ${sync.toUpperCase()}`)
    results.push(measure(dir, sync))
  }
  for (const r of results) {
    printBlock(`bench:outbox: synchronous = ${r.sync.toUpperCase()}`, [
      ["entry size (JSON, without id)", `${r.entryBytes.toFixed(0)} bytes`],
      [
        `append (batches of ${BATCH})`,
        `${fmtInt(r.appendPerS)} entries/s`,
        targetNote(r.appendPerS >= TARGET_PER_S, `>= ${fmtInt(TARGET_PER_S)}/s`),
      ],
      [
        `drain (peek ${PEEK} + remove)`,
        `${fmtInt(r.drainPerS)} entries/s (encoding the bodies took ${r.encodeShare.toFixed(2)} s more)`,
        targetNote(r.drainPerS >= TARGET_PER_S, `>= ${fmtInt(TARGET_PER_S)}/s`),
      ],
      ["file size after append (db + wal)", fmtMiB(r.fileBytes)],
      ["file size drained and closed", fmtMiB(r.drainedFileBytes)],
      ["append into a full outbox", `${fmtInt(r.fullAppendPerS)} entries/s (${fmtInt(r.dropped)} dropped)`],
      ["append of a single entry (one commit)", `${(r.commitMs * 1000).toFixed(0)} µs`],
    ])
  }
  const met = (r: Result) => r.appendPerS >= TARGET_PER_S && r.drainPerS >= TARGET_PER_S
  const runtime = round((performance.now() - benchStarted) / 1000, 1)
  console.log(`\nbench:outbox finished in ${runtime} s`)
  console.log(
    JSON.stringify({
      bench: "outbox",
      entries: ENTRIES,
      batch: BATCH,
      peek: PEEK,
      target_per_s: TARGET_PER_S,
      results: results.map((r) => ({
        sync: r.sync,
        entry_bytes: Math.round(r.entryBytes),
        append_per_s: Math.round(r.appendPerS),
        drain_per_s: Math.round(r.drainPerS),
        encode_s: round(r.encodeShare),
        full_append_per_s: Math.round(r.fullAppendPerS),
        commit_us: Math.round(r.commitMs * 1000),
        file_mib: round(r.fileBytes / MiB, 1),
        drained_file_mib: round(r.drainedFileBytes / MiB, 1),
        target_met: met(r),
      })),
      runtime_s: runtime,
    }),
  )
  return results.every((r) => r.drained === ENTRIES && met(r)) ? 0 : 1
})
