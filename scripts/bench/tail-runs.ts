/** The two runs of bench:tail: A, the agent alone into JetStream; B, agent and collector end to end into DuckDB. */
import { existsSync } from "node:fs"
import { join } from "node:path"
import type { Dataset } from "./access-log-dataset.ts"
import {
  collectorMetrics,
  ensureStream,
  fmtInt,
  fmtMiB,
  makeKeys,
  type ProcFigures,
  ProcMonitor,
  prepareStack,
  querySql,
  StatePositions,
  spawnAgent,
  spawnCollector,
  sqlNumber,
  stopGracefully,
  streamFigures,
  writeAgentConfig,
} from "./lib.ts"
import {
  figuresWithout,
  findDescendant,
  type NatsMode,
  prepareLocalStack,
  startBenchNats,
} from "./nats-modes.ts"

/** How long a run may take, how often it looks at its progress, and how NATS is set up. */
export type RunSettings = { timeoutS: number; pollMs: number; nats: NatsMode }

const logsSource = (logsDir: string) => ({
  name: "bench",
  paths: [join(logsDir, "*.log")],
  mode: "all",
  start_at: "beginning",
})

export type RunA = {
  complete: boolean
  seconds: number
  startupSeconds: number | null
  committedBytes: number
  agent: ProcFigures
  nats: ProcFigures | undefined
  stream: { bytes: number; messages: number; maxPayload: number } | undefined
  exit: { code: number | null; seconds: number }
}

export async function runA(dir: string, data: Dataset, logsDir: string, s: RunSettings): Promise<RunA> {
  console.log(`\n-- run A: agent alone -> JetStream, NATS ${s.nats} (timeout ${s.timeoutS} s)`)
  const keys = makeKeys(dir, "bench-a")
  const nats = await startBenchNats(dir, "nats-a", s.nats, keys)
  const natsMon = nats.pid ? new ProcMonitor(nats.pid, 500) : undefined
  await ensureStream(nats.url, nats.client)
  const stateDir = join(dir, "agent-state-a")
  const config = writeAgentConfig(join(dir, "agent-a.json"), {
    agentId: "bench-a",
    stateDir,
    keys,
    nats: nats.agentNats,
    logs: [logsSource(logsDir)],
  })
  const positions = new StatePositions(stateDir)
  const agent = spawnAgent(config, join(dir, "agent-a.log"))
  const t0 = agent.startedAt
  let runningAt: number | null = null
  let committed = 0
  let complete = false
  let lastReport = t0
  while (performance.now() - t0 < s.timeoutS * 1000) {
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
    await Bun.sleep(s.pollMs)
  }
  const seconds = (performance.now() - t0) / 1000
  agent.monitor.sample()
  natsMon?.sample()
  const agentFigures = agent.monitor.figures()
  const natsFigures = natsMon?.figures()
  positions.close()
  const stream = await streamFigures(nats.url, nats.client).catch(() => undefined)
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

export type RunB = {
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

export async function runB(dir: string, data: Dataset, logsDir: string, s: RunSettings): Promise<RunB> {
  console.log(`\n-- run B: agent + collector together, end to end, NATS ${s.nats} (timeout ${s.timeoutS} s)`)
  const stackOptions = { agentId: "bench-b", suffix: "-b", logs: [logsSource(logsDir)] }
  // plain: a nats-server of its own, already running; auth/tls: the one the collector starts (found below)
  const {
    nats,
    natsMon: plainMon,
    collectorConfig,
    agentConfig,
  } = s.nats === "plain"
    ? await prepareStack(dir, stackOptions)
    : { nats: undefined, natsMon: undefined, ...(await prepareLocalStack(dir, s.nats, stackOptions)) }
  let natsMon = plainMon
  const collector = spawnCollector(collectorConfig.path, join(dir, "collector-b.log"))
  const agent = spawnAgent(agentConfig, join(dir, "agent-b.log"))
  const findLocalNats = () => {
    if (nats || natsMon) return
    const pid = findDescendant(collector.proc.pid, "nats-server")
    if (pid) natsMon = new ProcMonitor(pid, 500)
  }
  const t0 = collector.startedAt
  const http = collectorConfig.httpUrl
  let lines = 0
  let complete = false
  let readyAt: number | null = null
  let firstRowsAt: number | null = null
  let lastReport = t0
  while (performance.now() - t0 < s.timeoutS * 1000) {
    if (agent.proc.exitCode !== null)
      throw new Error(`agent exited ${agent.proc.exitCode}; see ${agent.logPath}`)
    if (collector.proc.exitCode !== null)
      throw new Error(`collector exited ${collector.proc.exitCode}; see ${collector.logPath}`)
    findLocalNats()
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
  // a collector's own nats-server is in its process tree: count it as nats-server only
  const collectorFigures =
    !nats && natsMon ? figuresWithout(collector.monitor, natsMon) : collector.monitor.figures()
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
  await nats?.stop()
  return {
    complete,
    seconds,
    lines,
    collectorReadySeconds: readyAt === null ? null : (readyAt - t0) / 1000,
    firstRowsSeconds: firstRowsAt === null ? null : (firstRowsAt - t0) / 1000,
    agent: agentFigures,
    collector: collectorFigures,
    nats: natsFigures,
    flushes: metrics.get("outpost_collector_flush_duration_seconds_count") ?? 0,
    flushSeconds: metrics.get("outpost_collector_flush_duration_seconds_sum") ?? 0,
    rejected,
    agentExit,
    collectorExit,
  }
}
