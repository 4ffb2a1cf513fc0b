#!/usr/bin/env bun
/**
 * bench:tail — throughput of tailing log files that are already on disk.
 *
 *   Run A: the agent alone ships every file to JetStream (the stream is created as a default collector would);
 *          timed from spawning the agent until its committed positions in state.db equal the file sizes.
 *   Run B: fresh nats store and agent state; agent and collector started together; timed until
 *          `SELECT count(*) FROM log_lines` equals the number of lines written.
 *
 *   bun run bench:tail [--files 10] [--mib 100] [--runs ab] [--timeout-s 600] [--max-runtime-s 1800] [--keep]
 *   (each flag also as BENCH_<NAME>, e.g. BENCH_FILES=2 BENCH_MIB=20)
 */
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeSync } from "node:fs"
import { join } from "node:path"
import {
  benchDir,
  collectorMetrics,
  ensureStream,
  fmtInt,
  fmtMiB,
  fmtSec,
  MiB,
  makeKeys,
  Options,
  type ProcFigures,
  ProcMonitor,
  printBlock,
  printLogFindings,
  procJson,
  procRows,
  querySql,
  type Row,
  round,
  runBench,
  StatePositions,
  spawnAgent,
  spawnCollector,
  sqlNumber,
  startNats,
  stopGracefully,
  streamFigures,
  targetNote,
  writeAgentConfig,
  writeCollectorConfig,
} from "./lib.ts"

const opts = new Options(`bench:tail — agent -> JetStream and end-to-end throughput on files already on disk

  --files N          number of log files (default 10)
  --mib N            MiB per file (default 100)
  --runs ab|a|b      which runs (default ab)
  --timeout-s N      limit per run; figures are reported as partial when it is reached (default 600)
  --max-runtime-s N  hard limit for the whole bench (default 1800)
  --poll-ms N        state.db poll interval in run A (default 100)
  --keep             keep the temp dir (data, configs, process logs)`)

const FILES = opts.num("files", 10)
const FILE_MIB = opts.num("mib", 100)
const RUNS = opts.str("runs", "ab")
const RUN_TIMEOUT_S = opts.num("timeout-s", 600)
const MAX_RUNTIME_S = opts.num("max-runtime-s", 1800)
const POLL_MS = opts.num("poll-ms", 100)
const KEEP = opts.flag("keep")
const TARGET_AGENT_MIBS = 100
const TARGET_E2E_LPS = 300_000

/** About 1 MiB of varied ~120-byte access-log lines (whole lines only), different for each seed. */
function makeBlock(seed: number): { block: Buffer; lines: number } {
  let s = (seed * 2654435761 + 12345) >>> 0
  const rnd = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    return (s >>> 8) % n
  }
  const methods = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
  const paths = [
    "/",
    "/index.html",
    "/api/v1/items",
    "/ads/serve",
    "/ads/click",
    "/products/",
    "/cart",
    "/login",
  ]
  const statuses = [200, 200, 200, 200, 301, 304, 404, 500]
  const agents = [
    "Mozilla/5.0 (X11; Linux x86_64)",
    "curl/8.5.0",
    "Mozilla/5.0 (iPhone)",
    "Go-http-client/1.1",
  ]
  const lines: string[] = []
  let bytes = 0
  for (;;) {
    const p = paths[rnd(paths.length)] as string
    const line = `10.${rnd(256)}.${rnd(256)}.${rnd(256)} - - [25/Nov/2025:${String(rnd(24)).padStart(2, "0")}:${String(rnd(60)).padStart(2, "0")}:${String(rnd(60)).padStart(2, "0")} +0000] "${methods[rnd(methods.length)]} ${p}${p.endsWith("/") ? rnd(100000) : `?id=${rnd(1000000)}`} HTTP/1.1" ${statuses[rnd(statuses.length)]} ${rnd(90000)} "-" "${agents[rnd(agents.length)]}"\n`
    if (bytes + line.length > MiB) break
    lines.push(line)
    bytes += line.length
  }
  return { block: Buffer.from(lines.join("")), lines: lines.length }
}

type Dataset = { paths: string[]; sizes: Map<string, number>; bytes: number; lines: number; seconds: number }

function writeDataset(logsDir: string): Dataset {
  const started = performance.now()
  mkdirSync(logsDir, { recursive: true })
  const paths: string[] = []
  const sizes = new Map<string, number>()
  let bytes = 0
  let lines = 0
  for (let i = 0; i < FILES; i++) {
    const { block, lines: perBlock } = makeBlock(i + 1)
    const path = join(logsDir, `access-${String(i).padStart(2, "0")}.log`)
    const fd = openSync(path, "w")
    const blocks = Math.max(1, Math.round(FILE_MIB))
    try {
      for (let b = 0; b < blocks; b++) writeSync(fd, block)
    } finally {
      closeSync(fd)
    }
    paths.push(path)
    sizes.set(path, statSync(path).size)
    bytes += statSync(path).size
    lines += blocks * perBlock
  }
  return { paths, sizes, bytes, lines, seconds: (performance.now() - started) / 1000 }
}

const logsSource = (logsDir: string) => ({
  name: "bench",
  paths: [join(logsDir, "*.log")],
  mode: "all",
  start_at: "beginning",
})

type RunA = {
  complete: boolean
  seconds: number
  startupSeconds: number | null
  committedBytes: number
  agent: ProcFigures
  nats: ProcFigures | undefined
  stream: { bytes: number; messages: number; maxPayload: number } | undefined
  exit: { code: number | null; seconds: number }
}

async function runA(dir: string, data: Dataset, logsDir: string): Promise<RunA> {
  console.log(`\n-- run A: agent alone -> JetStream (timeout ${RUN_TIMEOUT_S} s)`)
  const nats = await startNats(join(dir, "nats-a"))
  const natsMon = nats.pid ? new ProcMonitor(nats.pid, 500) : undefined
  await ensureStream(nats.url)
  const keys = makeKeys(dir, "bench-a")
  const stateDir = join(dir, "agent-state-a")
  const config = writeAgentConfig(join(dir, "agent-a.json"), {
    agentId: "bench-a",
    stateDir,
    keys,
    natsUrl: nats.url,
    logs: [logsSource(logsDir)],
  })
  const positions = new StatePositions(stateDir)
  const agent = spawnAgent(config, join(dir, "agent-a.log"))
  const t0 = agent.startedAt
  let runningAt: number | null = null
  let committed = 0
  let complete = false
  let lastReport = t0
  while (performance.now() - t0 < RUN_TIMEOUT_S * 1000) {
    if (agent.proc.exitCode !== null)
      throw new Error(`agent exited ${agent.proc.exitCode}; see ${agent.logPath}`)
    if (
      runningAt === null &&
      existsSync(agent.logPath) &&
      (await Bun.file(agent.logPath).text()).includes("running:")
    )
      runningAt = performance.now()
    const pos = positions.read()
    committed = 0
    for (const [path, size] of data.sizes) committed += Math.min(pos.get(path) ?? 0, size)
    if (committed >= data.bytes) {
      complete = true
      break
    }
    if (performance.now() - lastReport >= 10_000) {
      lastReport = performance.now()
      console.log(
        `   ${((lastReport - t0) / 1000).toFixed(0)} s: committed ${fmtMiB(committed)} of ${fmtMiB(data.bytes)}`,
      )
    }
    await Bun.sleep(POLL_MS)
  }
  const seconds = (performance.now() - t0) / 1000
  agent.monitor.sample()
  natsMon?.sample()
  const agentFigures = agent.monitor.figures()
  const natsFigures = natsMon?.figures()
  positions.close()
  const stream = await streamFigures(nats.url).catch(() => undefined)
  const exit = await stopGracefully(agent)
  natsMon?.stop()
  await nats.stop()
  return {
    complete,
    seconds,
    startupSeconds: runningAt === null ? null : (runningAt - t0) / 1000,
    committedBytes: committed,
    agent: agentFigures,
    nats: natsFigures,
    stream,
    exit,
  }
}

type RunB = {
  complete: boolean
  seconds: number
  lines: number
  collectorReadySeconds: number | null
  firstRowsSeconds: number | null
  agent: ProcFigures
  collector: ProcFigures
  nats: ProcFigures | undefined
  flushes: number
  flushSeconds: number
  rejected: unknown
  agentExit: { code: number | null; seconds: number }
  collectorExit: { code: number | null; seconds: number }
}

async function runB(dir: string, data: Dataset, logsDir: string): Promise<RunB> {
  console.log(`\n-- run B: agent + collector together, end to end (timeout ${RUN_TIMEOUT_S} s)`)
  const nats = await startNats(join(dir, "nats-b"))
  const natsMon = nats.pid ? new ProcMonitor(nats.pid, 500) : undefined
  const keys = makeKeys(dir, "bench-b")
  const collectorConfig = await writeCollectorConfig(join(dir, "collector-b.json"), {
    dataDir: join(dir, "collector-b"),
    keys,
    natsUrl: nats.url,
  })
  const agentConfig = writeAgentConfig(join(dir, "agent-b.json"), {
    agentId: "bench-b",
    stateDir: join(dir, "agent-state-b"),
    keys,
    natsUrl: nats.url,
    logs: [logsSource(logsDir)],
  })
  const collector = spawnCollector(collectorConfig.path, join(dir, "collector-b.log"))
  const agent = spawnAgent(agentConfig, join(dir, "agent-b.log"))
  const t0 = collector.startedAt
  const http = collectorConfig.httpUrl
  let lines = 0
  let complete = false
  let readyAt: number | null = null
  let firstRowsAt: number | null = null
  let lastReport = t0
  while (performance.now() - t0 < RUN_TIMEOUT_S * 1000) {
    if (agent.proc.exitCode !== null)
      throw new Error(`agent exited ${agent.proc.exitCode}; see ${agent.logPath}`)
    if (collector.proc.exitCode !== null)
      throw new Error(`collector exited ${collector.proc.exitCode}; see ${collector.logPath}`)
    const n = await sqlNumber(http, "SELECT count(*) AS n FROM log_lines")
    if (n !== null) {
      readyAt ??= performance.now()
      lines = n
      if (n > 0) firstRowsAt ??= performance.now()
      if (n >= data.lines) {
        complete = true
        break
      }
    }
    if (performance.now() - lastReport >= 10_000) {
      lastReport = performance.now()
      console.log(
        `   ${((lastReport - t0) / 1000).toFixed(0)} s: ${fmtInt(lines)} of ${fmtInt(data.lines)} lines`,
      )
    }
    await Bun.sleep(n === null ? 50 : 200)
  }
  const seconds = (performance.now() - t0) / 1000
  agent.monitor.sample()
  collector.monitor.sample()
  natsMon?.sample()
  const agentFigures = agent.monitor.figures()
  const collectorFigures = collector.monitor.figures()
  const natsFigures = natsMon?.figures()
  const metrics = await collectorMetrics(http)
  const rejected = await querySql(
    http,
    "SELECT reason, count(*) AS n FROM processing_errors GROUP BY 1",
  ).catch((e: Error) => e.message)
  if (complete) {
    // the count can only overshoot through duplicates; make sure it settled
    await Bun.sleep(1000)
    lines = (await sqlNumber(http, "SELECT count(*) AS n FROM log_lines")) ?? lines
  }
  const agentExit = await stopGracefully(agent)
  const collectorExit = await stopGracefully(collector, 60_000)
  natsMon?.stop()
  await nats.stop()
  return {
    complete,
    seconds,
    lines,
    collectorReadySeconds: readyAt === null ? null : (readyAt - t0) / 1000,
    firstRowsSeconds: firstRowsAt === null ? null : (firstRowsAt - t0) / 1000,
    agent: agentFigures,
    collector: collectorFigures,
    nats: natsFigures,
    flushes: metrics.get("outpost_collector_flushes_total") ?? 0,
    flushSeconds: metrics.get("outpost_collector_flush_seconds_total") ?? 0,
    rejected,
    agentExit,
    collectorExit,
  }
}

await runBench("bench:tail", MAX_RUNTIME_S, async () => {
  const benchStarted = performance.now()
  const dir = benchDir("outpost-bench-tail-", KEEP)
  const logsDir = join(dir, "logs")
  console.log(`bench:tail in ${dir}: ${FILES} files x ${FILE_MIB} MiB, runs '${RUNS}'`)
  const data = writeDataset(logsDir)
  console.log(
    `wrote ${FILES} files, ${fmtMiB(data.bytes)}, ${fmtInt(data.lines)} lines (avg ${(data.bytes / data.lines).toFixed(1)} B/line) in ${fmtSec(data.seconds)}`,
  )
  const summary: Record<string, unknown> = {
    bench: "tail",
    files: FILES,
    mib_per_file: FILE_MIB,
    bytes: data.bytes,
    lines: data.lines,
  }
  let ok = true

  if (RUNS.includes("a")) {
    const a = await runA(dir, data, logsDir)
    const mibs = a.committedBytes / MiB / a.seconds
    const mibsWarm =
      a.startupSeconds === null ? null : a.committedBytes / MiB / (a.seconds - a.startupSeconds)
    const rows: Row[] = [
      ["data", `${FILES} files, ${fmtMiB(data.bytes)}, ${fmtInt(data.lines)} lines`],
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
    const b = await runB(dir, data, logsDir)
    const lps = Math.min(b.lines, data.lines) / b.seconds
    const mibs = ((Math.min(b.lines, data.lines) / data.lines) * data.bytes) / MiB / b.seconds
    const rows: Row[] = [
      ["data", `${FILES} files, ${fmtMiB(data.bytes)}, ${fmtInt(data.lines)} lines`],
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
