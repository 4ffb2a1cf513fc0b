#!/usr/bin/env bun
/**
 * bench:urls — an agent running 1,000 HTTP checks every 10 s against a local server (a child process of its own),
 * results through the outbox, JetStream and the collector into DuckDB (real processes). Over the steady window
 * (after one period: every check's jittered first run) it measures the agent's CPU, RSS and results stored per
 * second; from url_checks, schedule drift (run k should start k periods after run 0), results expected,
 * produced and stored, and the time from a check's start to the collector receiving its result.
 *
 *   bun run bench:urls [--checks 1000] [--period-s 10] [--timeout-s 5] [--duration-s 60] [--keep]
 *   (each flag also as BENCH_<NAME>). The outbox's append and drain rates are bench:outbox's.
 */
import { join, resolve } from "node:path"
import { freePort } from "../../test/harness/ports.ts"
import {
  benchDir,
  fmtInt,
  fmtMiB,
  fmtSec,
  MiB,
  makeKeys,
  Options,
  ProcMonitor,
  printBlock,
  printLogFindings,
  querySql,
  type Row,
  round,
  runBench,
  spawnAgent,
  spawnCollector,
  sqlNumber,
  startNats,
  stopGracefully,
  targetNote,
  waitForHealth,
  waitForLog,
  writeAgentConfig,
  writeCollectorConfig,
} from "./lib.ts"
import {
  byCheck,
  expectedRuns,
  histogramQuantiles,
  ms,
  outboxState,
  pct,
  type StoredResult,
  scheduleDrift,
  settledCount,
  spread,
  startLocalServer,
  threadCpu,
  threadDelta,
  until,
} from "./urls-support.ts"

const opts =
  new Options(`bench:urls — 1,000 URL checks end to end: schedule drift, agent CPU and RSS, results/s

  --checks N         HTTP checks, each on its own path of the local server (default 1000)
  --period-s N       period_s of every check (default 10)
  --timeout-s N      timeout_s of every check, below the period (default 5)
  --duration-s N     how long the agent checks, from its 'running:' line (default 60; steady after one period)
  --sample-ms N      CPU and RSS sampling interval (default 500)
  --binary PATH      a compiled agent to run instead of the agent from source
  --max-runtime-s N  hard limit for the whole bench (default duration + 180)
  --keep             keep the temp dir (configs, process logs, DuckDB)`)

const CHECKS = Math.max(1, Math.floor(opts.num("checks", 1000)))
const PERIOD_S = opts.num("period-s", 10)
const TIMEOUT_S = opts.num("timeout-s", Math.min(5, PERIOD_S / 2))
const DURATION_S = opts.num("duration-s", 60)
const SAMPLE_MS = opts.num("sample-ms", 500)
const BINARY = opts.str("binary", "")
const MAX_RUNTIME_S = opts.num("max-runtime-s", DURATION_S + 180)
const KEEP = opts.flag("keep")
const TARGET = { DRIFT_P99_MS: 50, CPU_PCT: 5, RSS_BYTES: 80 * 1000 * 1000 /* 80 MB */ } as const
const AGENT_ID = "bench-urls"

if (TIMEOUT_S >= PERIOD_S) throw new Error("--timeout-s must be below --period-s")
if (DURATION_S <= PERIOD_S) throw new Error("--duration-s must be above --period-s")

const PERIOD_MS = PERIOD_S * 1000
const names = Array.from({ length: CHECKS }, (_, i) => `check-${i}`)

await runBench("bench:urls", MAX_RUNTIME_S, async () => {
  const benchStarted = performance.now()
  const dir = benchDir("outpost-bench-urls-", KEEP)
  console.log(
    `bench:urls in ${dir}: ${fmtInt(CHECKS)} checks, period ${PERIOD_S} s, timeout ${TIMEOUT_S} s, ${DURATION_S} s`,
  )
  const server = await startLocalServer()
  const serverMon = new ProcMonitor(server.pid, SAMPLE_MS)
  const nats = await startNats(join(dir, "nats"))
  const natsMon = nats.pid ? new ProcMonitor(nats.pid, SAMPLE_MS) : undefined
  const keys = makeKeys(dir, AGENT_ID)
  const collectorConfig = await writeCollectorConfig(join(dir, "collector.json"), {
    dataDir: join(dir, "collector"),
    keys,
    natsUrl: nats.url,
  })
  const stateDir = join(dir, "agent-state")
  const agentHttp = `http://127.0.0.1:${await freePort()}`
  const agentConfig = writeAgentConfig(
    join(dir, "agent.json"),
    { agentId: AGENT_ID, stateDir, keys, natsUrl: nats.url, logs: [] },
    {
      http: { port: Number(new URL(agentHttp).port) },
      urls: names.map((name, i) => ({
        name,
        url: `http://127.0.0.1:${server.port}/check/${i}`,
        period_s: PERIOD_S,
        timeout_s: TIMEOUT_S,
      })),
    },
  )
  const collector = spawnCollector(collectorConfig.path, join(dir, "collector.log"), SAMPLE_MS)
  await waitForHealth(collector, collectorConfig.httpUrl)
  const agent = spawnAgent(
    agentConfig,
    join(dir, "agent.log"),
    BINARY ? resolve(BINARY) : undefined,
    SAMPLE_MS,
  )
  const runningAt = await waitForLog(agent, "running:", 60_000)
  console.log(`agent running after ${fmtSec((runningAt - agent.startedAt) / 1000)}; first period...`)

  type Mark = { mono: number; wall: number; stored: number; cpu: number[]; threads: Map<string, number> }
  const mark = async (): Promise<Mark> => {
    const mono = performance.now()
    const wall = Date.now()
    const mons = [agent.monitor, collector.monitor, natsMon, serverMon]
    for (const m of mons) m?.sample()
    const cpu = mons.map((m) => m?.figures().cpuSeconds ?? 0)
    const threads = threadCpu(agent.proc.pid)
    const stored = (await sqlNumber(collectorConfig.httpUrl, "SELECT count(*) AS n FROM url_checks")) ?? 0
    return { mono, wall, stored, cpu, threads }
  }
  await until(runningAt + PERIOD_MS, agent)
  const from = await mark()
  console.log(`steady window: ${DURATION_S - PERIOD_S} s...`)
  await until(runningAt + DURATION_S * 1000, agent)
  const to = await mark()
  const windowS = (to.mono - from.mono) / 1000
  const agentFigures = agent.monitor.figures()
  const steadyRss = agent.monitor.series.filter((s) => s.t >= from.wall && s.t <= to.wall).map((s) => s.rss)
  const rssMean = steadyRss.reduce((a, b) => a + b, 0) / Math.max(1, steadyRss.length)
  const rssPeak = Math.max(0, ...steadyRss)

  // the agent's own view, read after the window: its drift histogram (monotonic clock) and skipped runs
  const metricsText = await fetch(`${agentHttp}/metrics`)
    .then((r) => r.text())
    .catch(() => "")
  const ownDrift = histogramQuantiles(metricsText, "outpost_agent_url_check_schedule_drift_seconds")
  const status = (await fetch(`${agentHttp}/status`)
    .then((r) => r.json())
    .catch(() => null)) as { urls?: { checks?: { skips?: number; runs?: number }[] } } | null
  const ownChecks = status?.urls?.checks ?? []
  const skips = ownChecks.length > 0 ? ownChecks.reduce((n, c) => n + (c.skips ?? 0), 0) : null

  const stopAt = Date.now()
  const agentExit = await stopGracefully(agent, 30_000)
  const outbox = outboxState(stateDir)
  const stored = await settledCount(collectorConfig.httpUrl)
  const rows = (
    await querySql(
      collectorConfig.httpUrl,
      `SELECT "check", epoch_ms(started_at) AS s, epoch_ms(received_at) AS r, outcome FROM url_checks`,
    )
  ).map(
    (r): StoredResult => ({
      check: String(r.check),
      startedAt: Number(r.s),
      receivedAt: Number(r.r),
      outcome: String(r.outcome),
    }),
  )
  const ids = (
    await querySql(
      collectorConfig.httpUrl,
      "SELECT count(DISTINCT entry_id) AS n, min(entry_id) AS lo, max(entry_id) AS hi FROM url_checks",
    )
  )[0]
  const distinct = Number(ids?.n ?? 0)
  // ids are contiguous from the first result's (the outbox starts them at its clock): given since the first stored
  const produced = outbox && ids?.lo != null ? outbox.lastId - Number(ids.lo) + 1 : null
  const lastStored = Number(ids?.hi ?? 0)
  const requests = await server.stop()
  serverMon.stop()
  const collectorExit = await stopGracefully(collector)
  natsMon?.stop()

  const runs = byCheck(rows)
  const drift = scheduleDrift(runs, PERIOD_MS)
  const { expected } = expectedRuns(names, AGENT_ID, PERIOD_MS, runs, stopAt)
  const inWindow = rows.filter((r) => r.startedAt >= from.wall && r.startedAt < to.wall)
  const latency = spread(inWindow.map((r) => r.receivedAt - r.startedAt))
  const notUp = rows.filter((r) => r.outcome !== "up").length
  const perS = (to.stored - from.stored) / windowS
  const agentCpuPct = pct((to.cpu[0] ?? 0) - (from.cpu[0] ?? 0), windowS)
  const cpuOf = (i: number) =>
    `${((to.cpu[i] ?? 0) - (from.cpu[i] ?? 0)).toFixed(2)} s (${pct((to.cpu[i] ?? 0) - (from.cpu[i] ?? 0), windowS).toFixed(1)}% of one core)`
  const threads = threadDelta(from.threads, to.threads)

  const rows_: Row[] = [
    ["checks", `${fmtInt(CHECKS)} HTTP checks, period ${PERIOD_S} s, timeout ${TIMEOUT_S} s`],
    ["steady window", `${fmtSec(windowS)} (after the first period, to the end of the ${DURATION_S} s run)`],
    [
      "schedule drift p50 / p99 / max",
      `${ms(drift.p50)} / ${ms(drift.p99)} / ${ms(drift.max)} over ${fmtInt(drift.n)} runs k >= 1`,
      targetNote(drift.p99 <= TARGET.DRIFT_P99_MS, `p99 <= ${TARGET.DRIFT_P99_MS} ms`),
    ],
    [
      "  runs off their slot",
      `${fmtInt(drift.offSlot)} (skipped by the agent: ${skips === null ? "?" : fmtInt(skips)})`,
    ],
    [
      "  agent's own histogram",
      ownDrift
        ? `p50 <= ${ownDrift.p50 * 1000} ms, p99 <= ${ownDrift.p99 * 1000} ms (bucket bounds, ${fmtInt(ownDrift.count)} runs, start minus slot)`
        : "not exported",
    ],
    [
      "agent CPU (steady)",
      `${agentCpuPct.toFixed(1)}% of one core`,
      targetNote(agentCpuPct <= TARGET.CPU_PCT, `<= ${TARGET.CPU_PCT}%`),
    ],
    ...threads
      .slice(0, 6)
      .map(([name, s]): Row => [`  thread ${name}`, `${s.toFixed(2)} s (${pct(s, windowS).toFixed(1)}%)`]),
    [
      "agent RSS (steady) mean / peak",
      `${fmtMiB(rssMean)} / ${fmtMiB(rssPeak)}`,
      targetNote(rssPeak <= TARGET.RSS_BYTES, `<= 80 MB (${fmtMiB(TARGET.RSS_BYTES)})`),
    ],
    ["agent peak RSS (VmHWM, whole run)", fmtMiB(agentFigures.hwmBytes)],
    [
      "results stored per second (steady)",
      `${perS.toFixed(1)}/s (${fmtInt(to.stored - from.stored)} in the window; checks / period = ${(CHECKS / PERIOD_S).toFixed(1)}/s)`,
    ],
    [
      "start -> collector received p50 / p99 / max",
      `${ms(latency.p50)} / ${ms(latency.p99)} / ${ms(latency.max)}`,
    ],
    [
      "results expected / produced / stored",
      `${fmtInt(expected)} (slots before the stop) / ${produced === null ? "?" : fmtInt(produced)} (outbox ids) / ${fmtInt(stored)}${stored > distinct ? ` (${fmtInt(stored - distinct)} DUPLICATES)` : ""}`,
    ],
    [
      "  checks with results / not up",
      `${fmtInt(runs.size)} of ${fmtInt(CHECKS)} / ${fmtInt(notUp)} results; server answered ${requests === null ? "?" : fmtInt(requests)} requests`,
    ],
    ["  left in the outbox", outbox ? fmtInt(outbox.waiting) : "?"],
    ["collector CPU (steady)", cpuOf(1)],
    ["nats-server CPU (steady)", natsMon ? cpuOf(2) : "not found"],
    ["server CPU (steady)", cpuOf(3)],
    [
      "stop (SIGTERM)",
      `agent exit ${agentExit.code} after ${fmtSec(agentExit.seconds)}, collector exit ${collectorExit.code}`,
    ],
    ["outbox append + drain", "see bun run bench:outbox"],
  ]
  printBlock("bench:urls: checks -> outbox -> JetStream -> collector -> DuckDB", rows_)
  console.log("  started_at is the agent's wall clock, kept by DuckDB to the millisecond")
  printLogFindings("agent", agent.logPath)
  printLogFindings("collector", collector.logPath)

  const runtime = round((performance.now() - benchStarted) / 1000, 1)
  console.log(`\nbench:urls finished in ${runtime} s`)
  console.log(
    JSON.stringify({
      bench: "urls",
      checks: CHECKS,
      period_s: PERIOD_S,
      timeout_s: TIMEOUT_S,
      duration_s: DURATION_S,
      window_s: round(windowS, 1),
      drift_ms: { p50: drift.p50, p99: drift.p99, max: drift.max, runs: drift.n, off_slot: drift.offSlot },
      drift_target_met: drift.p99 <= TARGET.DRIFT_P99_MS,
      agent_cpu_pct: round(agentCpuPct, 1),
      cpu_target_met: agentCpuPct <= TARGET.CPU_PCT,
      agent_rss_mib: { mean: round(rssMean / MiB, 1), peak: round(rssPeak / MiB, 1) },
      agent_hwm_mib: round(agentFigures.hwmBytes / MiB, 1),
      rss_target_met: rssPeak <= TARGET.RSS_BYTES,
      results_per_s: round(perS, 1),
      received_ms: { p50: latency.p50, p99: latency.p99, max: latency.max },
      expected,
      produced,
      stored,
      duplicates: Math.max(0, stored - distinct),
      not_up: notUp,
      skips,
      agent_exit: agentExit.code,
      runtime_s: runtime,
    }),
  )
  const complete =
    produced !== null && stored === produced && lastStored === outbox?.lastId && stored === distinct
  return agentExit.code === 0 && complete ? 0 : 1
})
