#!/usr/bin/env bun
/**
 * bench:tail — throughput of tailing log files that are already on disk.
 *
 *   Run A: the agent alone ships every file to JetStream (the stream is created as a default collector would);
 *          timed from spawning the agent until its committed positions in state.db equal the file sizes.
 *   Run B: fresh nats store and agent state; agent and collector started together; timed until
 *          `SELECT count(*) FROM log_lines` equals the number of lines written.
 *
 *   --nats sets up NATS the way the figures are to be compared:
 *     plain  a nats-server without auth that the bench starts (the default; the figures from before NATS auth)
 *     auth   the collector's own local nats-server: the collector logs in with its generated password, the
 *            agent with the NKEY of its signing key (`nats.auth = agent_key`, the default), its key enrolled.
 *            Run A starts that server with the collector's code (same config file, users, supervision) but
 *            measures the agent alone as before; run B lets the collector start it (no `nats.url`).
 *     tls    as auth, plus `[nats.local_tls]` with a CA and server certificate made with openssl in the bench
 *            dir, and the agent's `nats.tls.ca_file`
 *   With auth and tls the collector's figures in run B leave out the nats-server it started (reported apart).
 *
 *   bun run bench:tail [--files 10] [--mib 100] [--runs ab] [--nats plain] [--timeout-s 600] [--max-runtime-s 1800] [--keep]
 *   (each flag also as BENCH_<NAME>, e.g. BENCH_FILES=2 BENCH_MIB=20)
 */
import { join } from "node:path"
import { writeDataset } from "./access-log-dataset.ts"
import {
  benchDir,
  fmtInt,
  fmtMiB,
  fmtSec,
  MiB,
  Options,
  printBlock,
  printLogFindings,
  procJson,
  procRows,
  type Row,
  round,
  runBench,
  targetNote,
} from "./lib.ts"
import { describeNatsMode, natsMode } from "./nats-modes.ts"
import { runA, runB } from "./tail-runs.ts"

const opts = new Options(`bench:tail — agent -> JetStream and end-to-end throughput on files already on disk

  --files N          number of log files (default 10)
  --mib N            MiB per file (default 100)
  --runs ab|a|b      which runs (default ab)
  --nats plain|auth|tls
                     plain: nats-server without auth (default); auth: the collector's local nats-server with
                     NKEY login for the agent; tls: the same with TLS (see the header of scripts/bench/tail.ts)
  --timeout-s N      limit per run; figures are reported as partial when it is reached (default 600)
  --max-runtime-s N  hard limit for the whole bench (default 1800)
  --poll-ms N        state.db poll interval in run A (default 100)
  --keep             keep the temp dir (data, configs, process logs)`)

const FILES = opts.num("files", 10)
const FILE_MIB = opts.num("mib", 100)
const RUNS = opts.str("runs", "ab")
const NATS = natsMode(opts.str("nats", "plain"))
const RUN_TIMEOUT_S = opts.num("timeout-s", 600)
const MAX_RUNTIME_S = opts.num("max-runtime-s", 1800)
const POLL_MS = opts.num("poll-ms", 100)
const KEEP = opts.flag("keep")
const TARGET_AGENT_MIBS = 100
const TARGET_E2E_LPS = 300_000

const settings = { timeoutS: RUN_TIMEOUT_S, pollMs: POLL_MS, nats: NATS }

await runBench("bench:tail", MAX_RUNTIME_S, async () => {
  const benchStarted = performance.now()
  const dir = benchDir("outpost-bench-tail-", KEEP)
  const logsDir = join(dir, "logs")
  console.log(`bench:tail in ${dir}: ${FILES} files x ${FILE_MIB} MiB, runs '${RUNS}', NATS ${NATS}`)
  const data = writeDataset(logsDir, FILES, FILE_MIB)
  console.log(
    `wrote ${FILES} files, ${fmtMiB(data.bytes)}, ${fmtInt(data.lines)} lines (avg ${(data.bytes / data.lines).toFixed(1)} B/line) in ${fmtSec(data.seconds)}`,
  )
  const summary: Record<string, unknown> = {
    bench: "tail",
    nats: NATS,
    files: FILES,
    mib_per_file: FILE_MIB,
    bytes: data.bytes,
    lines: data.lines,
  }
  let ok = true

  if (RUNS.includes("a")) {
    const a = await runA(dir, data, logsDir, settings)
    const mibs = a.committedBytes / MiB / a.seconds
    const mibsWarm =
      a.startupSeconds === null ? null : a.committedBytes / MiB / (a.seconds - a.startupSeconds)
    const rows: Row[] = [
      ["data", `${FILES} files, ${fmtMiB(data.bytes)}, ${fmtInt(data.lines)} lines`],
      ["nats", describeNatsMode(NATS)],
      [
        a.complete ? "time to commit all" : "PARTIAL after",
        `${fmtSec(a.seconds)} from spawn (agent startup ${a.startupSeconds === null ? "?" : fmtSec(a.startupSeconds)})`,
      ],
      ["committed", `${fmtMiB(a.committedBytes)} of ${fmtMiB(data.bytes)}`],
      [
        "agent -> JetStream",
        `${mibs.toFixed(1)} MiB/s (${fmtInt(((a.committedBytes / data.bytes) * data.lines) / a.seconds)} lines/s)`,
        targetNote(a.complete && mibs >= TARGET_AGENT_MIBS, `>= ${TARGET_AGENT_MIBS} MiB/s`),
      ],
      ["  excluding startup", mibsWarm === null ? "?" : `${mibsWarm.toFixed(1)} MiB/s`],
      ...procRows("agent", a.agent, a.seconds),
      ...(a.nats ? procRows("nats-server", a.nats, a.seconds) : []),
      [
        "stream",
        a.stream
          ? `${fmtMiB(a.stream.bytes)} in ${fmtInt(a.stream.messages)} messages (${fmtInt(a.stream.bytes / Math.max(1, a.stream.messages))} B/msg; server max_payload ${fmtInt(a.stream.maxPayload)})`
          : "unavailable",
      ],
      ["agent stop (SIGTERM)", `exit ${a.exit.code} after ${fmtSec(a.exit.seconds)}`],
    ]
    printBlock("bench:tail run A: agent -> JetStream", rows)
    printLogFindings("agent", join(dir, "agent-a.log"))
    ok &&= a.complete
    summary.run_a = {
      complete: a.complete,
      seconds: round(a.seconds),
      startup_s: a.startupSeconds === null ? null : round(a.startupSeconds),
      committed_bytes: a.committedBytes,
      mib_per_s: round(mibs, 1),
      mib_per_s_excl_startup: mibsWarm === null ? null : round(mibsWarm, 1),
      target_mib_per_s: TARGET_AGENT_MIBS,
      target_met: a.complete && mibs >= TARGET_AGENT_MIBS,
      agent: procJson(a.agent),
      nats: a.nats ? procJson(a.nats) : null,
      stream_bytes: a.stream?.bytes ?? null,
      stream_messages: a.stream?.messages ?? null,
      agent_exit: a.exit.code,
    }
  }

  if (RUNS.includes("b")) {
    const b = await runB(dir, data, logsDir, settings)
    const lps = Math.min(b.lines, data.lines) / b.seconds
    const mibs = ((Math.min(b.lines, data.lines) / data.lines) * data.bytes) / MiB / b.seconds
    const rows: Row[] = [
      ["data", `${FILES} files, ${fmtMiB(data.bytes)}, ${fmtInt(data.lines)} lines`],
      ["nats", describeNatsMode(NATS)],
      [
        b.complete ? "time to all queryable" : "PARTIAL after",
        `${fmtSec(b.seconds)} from spawn (collector answering ${b.collectorReadySeconds === null ? "?" : fmtSec(b.collectorReadySeconds)}, first rows ${b.firstRowsSeconds === null ? "?" : fmtSec(b.firstRowsSeconds)})`,
      ],
      [
        "lines in log_lines",
        `${fmtInt(b.lines)} of ${fmtInt(data.lines)}${b.lines > data.lines ? ` (${fmtInt(b.lines - data.lines)} DUPLICATES)` : ""}`,
      ],
      [
        "end to end",
        `${fmtInt(lps)} lines/s, ${mibs.toFixed(1)} MiB/s`,
        targetNote(b.complete && lps >= TARGET_E2E_LPS, `>= ${fmtInt(TARGET_E2E_LPS)} lines/s`),
      ],
      ...procRows("agent", b.agent, b.seconds),
      ...procRows("collector", b.collector, b.seconds),
      ...(b.nats ? procRows("nats-server", b.nats, b.seconds) : []),
      [
        "DuckDB transactions",
        `${fmtInt(b.flushes)}, ${b.flushSeconds.toFixed(1)} s in total (avg ${((b.flushSeconds / Math.max(1, b.flushes)) * 1000).toFixed(0)} ms)`,
      ],
      ["processing_errors", JSON.stringify(b.rejected)],
      [
        "stop (SIGTERM)",
        `agent exit ${b.agentExit.code} after ${fmtSec(b.agentExit.seconds)}, collector exit ${b.collectorExit.code} after ${fmtSec(b.collectorExit.seconds)}`,
      ],
    ]
    printBlock("bench:tail run B: files -> agent -> JetStream -> collector -> DuckDB", rows)
    printLogFindings("agent", join(dir, "agent-b.log"))
    printLogFindings("collector", join(dir, "collector-b.log"))
    ok &&= b.complete && b.lines === data.lines
    summary.run_b = {
      complete: b.complete,
      seconds: round(b.seconds),
      lines: b.lines,
      duplicates: Math.max(0, b.lines - data.lines),
      lines_per_s: Math.round(lps),
      mib_per_s: round(mibs, 1),
      target_lines_per_s: TARGET_E2E_LPS,
      target_met: b.complete && lps >= TARGET_E2E_LPS,
      collector_ready_s: b.collectorReadySeconds === null ? null : round(b.collectorReadySeconds),
      first_rows_s: b.firstRowsSeconds === null ? null : round(b.firstRowsSeconds),
      agent: procJson(b.agent),
      collector: procJson(b.collector),
      nats: b.nats ? procJson(b.nats) : null,
      duckdb_transactions: b.flushes,
      duckdb_seconds: round(b.flushSeconds),
      agent_exit: b.agentExit.code,
      collector_exit: b.collectorExit.code,
    }
  }
  summary.runtime_s = round((performance.now() - benchStarted) / 1000, 1)
  console.log(`\nbench:tail finished in ${summary.runtime_s} s`)
  console.log(JSON.stringify(summary))
  return ok ? 0 : 1
})
