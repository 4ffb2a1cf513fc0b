#!/usr/bin/env bun
/**
 * bench:latency — time from a line being written to it being queryable in the collector, at a steady rate.
 *
 * A writer appends lines `ts=<epoch ms> seq=<n> ...` to one log file in small appends (every ~10 ms) while the
 * agent (defaults) and the collector (defaults) run. Two measurements:
 *   - per line, after the run: received_at (the collector's batch time, set just before its DuckDB
 *     transaction) - ts, over every line, computed in DuckDB (exact quantiles);
 *   - sampled: every 200 ms the newest visible line is fetched; when it advanced, now - its ts is recorded
 *     (an upper bound for that line: it became visible at most one poll interval earlier).
 *
 *   bun run bench:latency [--rate 10000] [--seconds 30] [--append-ms 10] [--poll-ms 200] [--keep]
 *   (each flag also as BENCH_<NAME>)
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import {
  benchDir,
  collectorMetrics,
  fmtInt,
  fmtSec,
  Options,
  prepareStack,
  printBlock,
  printLogFindings,
  procJson,
  procRows,
  quantile,
  querySql,
  type Row,
  round,
  runBench,
  spawnAgent,
  spawnCollector,
  sqlNumber,
  stopGracefully,
  targetNote,
  waitForHealth,
  waitForLog,
} from "./lib.ts"
import { LATENCY_SQL, type SqlLatency, writeSteadily } from "./steady-writer.ts"

const opts = new Options(`bench:latency — write-to-queryable latency at a steady line rate

  --rate N             lines per second (default 10000)
  --seconds N          how long to write (default 30)
  --append-ms N        interval between appends (default 10)
  --poll-ms N          interval of the direct visibility poll (default 200)
  --drain-timeout-s N  how long to wait for the last lines after writing stops (default 60)
  --max-runtime-s N    hard limit for the whole bench (default seconds + 240)
  --keep               keep the temp dir (data, configs, process logs)`)

const RATE = opts.num("rate", 10_000)
const SECONDS = opts.num("seconds", 30)
const APPEND_MS = opts.num("append-ms", 10)
const POLL_MS = opts.num("poll-ms", 200)
const DRAIN_TIMEOUT_S = opts.num("drain-timeout-s", 60)
const MAX_RUNTIME_S = opts.num("max-runtime-s", SECONDS + 240)
const KEEP = opts.flag("keep")
const TARGET_P99_MS = 1500

await runBench("bench:latency", MAX_RUNTIME_S, async () => {
  const benchStarted = performance.now()
  const dir = benchDir("outpost-bench-latency-", KEEP)
  const logsDir = join(dir, "logs")
  mkdirSync(logsDir, { recursive: true })
  const logPath = join(logsDir, "latency.log")
  writeFileSync(logPath, "")
  console.log(
    `bench:latency in ${dir}: ${fmtInt(RATE)} lines/s for ${SECONDS} s, appends every ${APPEND_MS} ms`,
  )

  const { natsMon, collectorConfig, agentConfig } = await prepareStack(dir, {
    agentId: "bench-lat",
    suffix: "",
    logs: [{ name: "latency", paths: [logPath], start_at: "beginning" }],
  })
  const http = collectorConfig.httpUrl
  const collector = spawnCollector(collectorConfig.path, join(dir, "collector.log"), 500)
  await waitForHealth(collector, http)
  const agent = spawnAgent(agentConfig, join(dir, "agent.log"), undefined, 500)
  await waitForLog(agent, "running:")

  // warm-up: one line through the whole pipeline before measuring
  const warmStarted = performance.now()
  appendFileSync(logPath, "warmup line\n")
  const warmDeadline = performance.now() + 30_000
  while (((await sqlNumber(http, "SELECT count(*) AS n FROM log_lines")) ?? 0) < 1) {
    if (performance.now() > warmDeadline) throw new Error("the warm-up line did not arrive within 30 s")
    await Bun.sleep(20)
  }
  const warmSeconds = (performance.now() - warmStarted) / 1000
  console.log(`pipeline up; warm-up line queryable after ${fmtSec(warmSeconds)}; writing...`)

  const cpuAtStart = {
    agent: agent.monitor.figures().cpuSeconds,
    collector: collector.monitor.figures().cpuSeconds,
  }
  const { written, appends, maxGapMs, writeSeconds, polled, pollRtt } = await writeSteadily({
    logPath,
    rate: RATE,
    seconds: SECONDS,
    appendMs: APPEND_MS,
    httpUrl: http,
    pollMs: POLL_MS,
  })
  console.log(
    `wrote ${fmtInt(written)} lines in ${appends} appends over ${fmtSec(writeSeconds)}; waiting for the rest...`,
  )

  const drainStarted = performance.now()
  let visible = 0
  while (performance.now() - drainStarted < DRAIN_TIMEOUT_S * 1000) {
    if (agent.proc.exitCode !== null)
      throw new Error(`agent exited ${agent.proc.exitCode}; see ${agent.logPath}`)
    if (collector.proc.exitCode !== null)
      throw new Error(`collector exited ${collector.proc.exitCode}; see ${collector.logPath}`)
    visible = ((await sqlNumber(http, "SELECT count(*) AS n FROM log_lines")) ?? 1) - 1
    if (visible >= written) break
    await Bun.sleep(100)
  }
  const drainSeconds = (performance.now() - drainStarted) / 1000
  agent.monitor.sample()
  collector.monitor.sample()
  natsMon?.sample()
  const runSeconds = writeSeconds + drainSeconds
  const agentFigures = agent.monitor.figures()
  const collectorFigures = collector.monitor.figures()
  const natsFigures = natsMon?.figures()
  const sql = (await querySql(http, LATENCY_SQL))[0] as SqlLatency
  const metrics = await collectorMetrics(http)
  const flushes = metrics.get("outpost_collector_flush_duration_seconds_count") ?? 0
  const flushSeconds = metrics.get("outpost_collector_flush_duration_seconds_sum") ?? 0
  const agentExit = await stopGracefully(agent)
  const collectorExit = await stopGracefully(collector, 60_000)
  natsMon?.stop()

  const num = (k: string) => Number(sql[k] ?? Number.NaN)
  polled.sort((a, b) => a - b)
  pollRtt.sort((a, b) => a - b)
  const complete = visible >= written && num("distinct_n") === written
  const p99 = num("p99")
  const ms = (v: number) => `${fmtInt(v)} ms`
  const rows: Row[] = [
    [
      "written",
      `${fmtInt(written)} lines in ${fmtSec(writeSeconds)} (${fmtInt(written / writeSeconds)} lines/s)`,
    ],
    ["appends", `${fmtInt(appends)} (largest gap between appends ${maxGapMs} ms)`],
    [
      "queryable",
      `${fmtInt(num("n"))} rows, ${fmtInt(num("distinct_n"))} distinct seq${num("n") > num("distinct_n") ? " (DUPLICATES)" : ""}; last line ${fmtSec(drainSeconds)} after writing stopped`,
    ],
    ["received_at - written (every line)", ""],
    ["  p50", ms(num("p50"))],
    ["  p90", ms(num("p90"))],
    ["  p99", ms(p99), targetNote(complete && p99 <= TARGET_P99_MS, `p99 <= ${fmtInt(TARGET_P99_MS)} ms`)],
    ["  max", ms(num("max"))],
    ["  min / avg", `${ms(num("min"))} / ${ms(num("avg"))}`],
    [
      "  worst line",
      `seq ${fmtInt(num("worst_seq"))} (written ${fmtSec(num("worst_seq") / RATE)} into the run); ${fmtInt(num("over_500"))} lines over 500 ms`,
    ],
    [
      "  of which read_at - written",
      `p50 ${ms(num("read_p50"))}, p99 ${ms(num("read_p99"))}, max ${ms(num("read_max"))}`,
    ],
    [
      "  of which received_at - read_at",
      `p50 ${ms(num("ship_p50"))}, p99 ${ms(num("ship_p99"))}, max ${ms(num("ship_max"))}`,
    ],
    [`direct poll every ${POLL_MS} ms`, `${polled.length} samples where the newest visible line advanced`],
    ["  p50", ms(quantile(polled, 0.5))],
    ["  p90", ms(quantile(polled, 0.9))],
    ["  p99", ms(quantile(polled, 0.99))],
    ["  max", ms(polled[polled.length - 1] ?? Number.NaN)],
    [
      "  poll round trip",
      `p50 ${ms(quantile(pollRtt, 0.5))}, max ${ms(pollRtt[pollRtt.length - 1] ?? Number.NaN)}`,
    ],
    [
      "DuckDB transactions",
      `${fmtInt(flushes)}, avg ${((flushSeconds / Math.max(1, flushes)) * 1000).toFixed(1)} ms (visible that long after received_at)`,
    ],
    ...procRows("agent", agentFigures, runSeconds),
    [
      "agent CPU while writing",
      `${(((agentFigures.cpuSeconds - cpuAtStart.agent) / runSeconds) * 100).toFixed(0)}% of one core`,
    ],
    ...procRows("collector", collectorFigures, runSeconds),
    [
      "collector CPU while writing",
      `${(((collectorFigures.cpuSeconds - cpuAtStart.collector) / runSeconds) * 100).toFixed(0)}% of one core`,
    ],
    ...(natsFigures ? procRows("nats-server", natsFigures, runSeconds) : []),
    [
      "stop (SIGTERM)",
      `agent exit ${agentExit.code} after ${fmtSec(agentExit.seconds)}, collector exit ${collectorExit.code} after ${fmtSec(collectorExit.seconds)}`,
    ],
  ]
  printBlock(`bench:latency: ${fmtInt(RATE)} lines/s for ${SECONDS} s`, rows)
  printLogFindings("agent", join(dir, "agent.log"))
  printLogFindings("collector", join(dir, "collector.log"))

  const runtime = round((performance.now() - benchStarted) / 1000, 1)
  console.log(`\nbench:latency finished in ${runtime} s`)
  console.log(
    JSON.stringify({
      bench: "latency",
      rate: RATE,
      seconds: SECONDS,
      written,
      write_seconds: round(writeSeconds),
      queryable: num("n"),
      distinct: num("distinct_n"),
      complete,
      drain_s: round(drainSeconds),
      warmup_s: round(warmSeconds),
      received_minus_written_ms: {
        p50: num("p50"),
        p90: num("p90"),
        p99,
        max: num("max"),
        avg: round(num("avg"), 1),
        worst_seq: num("worst_seq"),
        over_500: num("over_500"),
      },
      read_minus_written_ms: { p50: num("read_p50"), p99: num("read_p99"), max: num("read_max") },
      received_minus_read_ms: { p50: num("ship_p50"), p99: num("ship_p99"), max: num("ship_max") },
      poll_ms: {
        samples: polled.length,
        p50: quantile(polled, 0.5),
        p90: quantile(polled, 0.9),
        p99: quantile(polled, 0.99),
        max: polled[polled.length - 1] ?? null,
      },
      target_p99_ms: TARGET_P99_MS,
      target_met: complete && p99 <= TARGET_P99_MS,
      duckdb_transactions: flushes,
      duckdb_avg_ms: round((flushSeconds / Math.max(1, flushes)) * 1000, 1),
      agent: procJson(agentFigures),
      collector: procJson(collectorFigures),
      nats: natsFigures ? procJson(natsFigures) : null,
      agent_exit: agentExit.code,
      collector_exit: collectorExit.code,
      runtime_s: runtime,
    }),
  )
  return complete ? 0 : 1
})
