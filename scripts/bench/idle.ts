#!/usr/bin/env bun
/**
 * bench:idle — memory and CPU of an agent with one logs source on a file that does not change.
 * Runs the agent from source (bun agent/cli/main.ts) and, when present, the compiled dist/outpost-agent.
 *
 *   bun run bench:idle [--seconds 20] [--sample-ms 250] [--binary dist/outpost-agent] [--compile] [--keep]
 *   --compile builds a fresh binary into the temp dir (as `bun run build` does) instead of using dist/.
 *   (each flag also as BENCH_<NAME>)
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { compileAgent } from "../../test/harness/processes.ts"
import {
  benchDir,
  ensureStream,
  fmtMiB,
  fmtSec,
  MiB,
  makeKeys,
  Options,
  printBlock,
  printLogFindings,
  type Row,
  root,
  round,
  runBench,
  spawnAgent,
  startNats,
  stopGracefully,
  targetNote,
  waitForLog,
  writeAgentConfig,
} from "./lib.ts"

const opts = new Options(`bench:idle — resident memory of an idle agent

  --seconds N        how long each agent idles after startup (default 20)
  --sample-ms N      RSS sampling interval (default 250)
  --binary PATH      compiled agent to measure too (default dist/outpost-agent, when it exists)
  --compile          compile a fresh agent binary into the temp dir and measure that instead
  --max-runtime-s N  hard limit for the whole bench (default 2 x (seconds + 60) + 180)
  --keep             keep the temp dir (configs, process logs)`)

const SECONDS = opts.num("seconds", 20)
const SAMPLE_MS = opts.num("sample-ms", 250)
const BINARY = resolve(opts.str("binary", join(root, "dist/outpost-agent")))
const COMPILE = opts.flag("compile")
const MAX_RUNTIME_S = opts.num("max-runtime-s", 2 * (SECONDS + 60) + 180)
const KEEP = opts.flag("keep")
const TARGET_BYTES = 60 * 1000 * 1000 // 60 MB

type Variant = { name: string; binary?: string }
type Result = {
  name: string
  startupSeconds: number
  startupRss: number
  endRss: number
  hwm: number
  sampledPeak: number
  idleCpuSeconds: number
  idleSeconds: number
  exit: number | null
}

/** Newest modification time among the agent's and shared sources. */
function newestSourceMtime(): number {
  let newest = 0
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith(".ts") && !e.name.includes(".test."))
        newest = Math.max(newest, statSync(p).mtimeMs)
    }
  }
  walk(join(root, "agent"))
  walk(join(root, "shared"))
  return newest
}

async function measure(dir: string, natsUrl: string, v: Variant, index: number): Promise<Result> {
  console.log(`\n-- ${v.name}: idling ${SECONDS} s`)
  const logPath = join(dir, "logs", "idle.log")
  const config = writeAgentConfig(join(dir, `agent-${index}.json`), {
    agentId: `bench-idle-${index}`,
    stateDir: join(dir, `agent-state-${index}`),
    keys: makeKeys(dir, `bench-idle-${index}`),
    natsUrl,
    logs: [{ name: "idle", paths: [logPath] }],
  })
  const agent = spawnAgent(config, join(dir, `agent-${index}.log`), v.binary, SAMPLE_MS)
  const runningAt = await waitForLog(agent, "running:")
  agent.monitor.sample()
  const atStartup = agent.monitor.figures()
  const idleFrom = performance.now()
  while (performance.now() - idleFrom < SECONDS * 1000) {
    if (agent.proc.exitCode !== null)
      throw new Error(`agent exited ${agent.proc.exitCode}; see ${agent.logPath}`)
    await Bun.sleep(100)
  }
  agent.monitor.sample()
  const atEnd = agent.monitor.figures()
  const exit = await stopGracefully(agent)
  return {
    name: v.name,
    startupSeconds: (runningAt - agent.startedAt) / 1000,
    startupRss: atStartup.rssNowBytes,
    endRss: atEnd.rssNowBytes,
    hwm: atEnd.hwmBytes,
    sampledPeak: atEnd.sampledPeakRssBytes,
    idleCpuSeconds: atEnd.cpuSeconds - atStartup.cpuSeconds,
    idleSeconds: (performance.now() - idleFrom) / 1000,
    exit: exit.code,
  }
}

await runBench("bench:idle", MAX_RUNTIME_S, async () => {
  const benchStarted = performance.now()
  const dir = benchDir("outpost-bench-idle-", KEEP)
  mkdirSync(join(dir, "logs"), { recursive: true })
  let text = ""
  for (let i = 0; i < 100; i++)
    text += `2025-11-25T12:00:${String(i % 60).padStart(2, "0")}Z INFO idle line ${i}\n`
  writeFileSync(join(dir, "logs", "idle.log"), text)
  console.log(`bench:idle in ${dir}: ${SECONDS} s per agent`)

  const variants: Variant[] = [{ name: "agent from source (bun agent/cli/main.ts)" }]
  let binaryNote = ""
  if (COMPILE) {
    const started = performance.now()
    const out = await compileAgent(join(dir, "outpost-agent"))
    binaryNote = `compiled into the temp dir in ${fmtSec((performance.now() - started) / 1000)}`
    variants.push({ name: "compiled agent (fresh build)", binary: out })
  } else if (existsSync(BINARY)) {
    const stale = statSync(BINARY).mtimeMs < newestSourceMtime()
    binaryNote = `${BINARY} (${fmtMiB(statSync(BINARY).size)}, built ${new Date(statSync(BINARY).mtimeMs).toISOString()}${stale ? "; OLDER than the newest agent/shared source, may be stale" : ""})`
    variants.push({ name: "compiled agent (dist/outpost-agent)", binary: BINARY })
  } else {
    binaryNote = `${BINARY} not found; only the agent from source is measured (run \`bun run build\` or pass --compile)`
  }
  console.log(`binary: ${binaryNote}`)

  const nats = await startNats(join(dir, "nats"))
  await ensureStream(nats.url)
  const results: Result[] = []
  for (const [i, v] of variants.entries()) {
    results.push(await measure(dir, nats.url, v, i))
  }

  for (const [i, r] of results.entries()) {
    const rows: Row[] = [
      ["startup (spawn to 'running:')", fmtSec(r.startupSeconds)],
      ["RSS after startup", fmtMiB(r.startupRss)],
      [
        `RSS after ${fmtSec(r.idleSeconds)} idle`,
        fmtMiB(r.endRss),
        targetNote(r.endRss <= TARGET_BYTES, `<= 60 MB (${fmtMiB(TARGET_BYTES)})`),
      ],
      [
        "peak RSS (VmHWM)",
        `${fmtMiB(r.hwm)} (sampled peak ${fmtMiB(r.sampledPeak)})`,
        targetNote(r.hwm <= TARGET_BYTES, "<= 60 MB"),
      ],
      [
        "CPU while idle",
        `${r.idleCpuSeconds.toFixed(2)} s in ${fmtSec(r.idleSeconds)} (${((r.idleCpuSeconds / r.idleSeconds) * 100).toFixed(1)}% of one core)`,
      ],
      ["stop (SIGTERM)", `exit ${r.exit}`],
    ]
    printBlock(`bench:idle: ${r.name}`, rows)
    printLogFindings("agent", join(dir, `agent-${i}.log`))
  }

  const runtime = round((performance.now() - benchStarted) / 1000, 1)
  console.log(`\nbench:idle finished in ${runtime} s`)
  console.log(
    JSON.stringify({
      bench: "idle",
      seconds: SECONDS,
      binary: variants[1]?.binary ?? null,
      target_mb: 60,
      results: results.map((r) => ({
        name: r.name,
        startup_s: round(r.startupSeconds),
        startup_rss_mib: round(r.startupRss / MiB, 1),
        end_rss_mib: round(r.endRss / MiB, 1),
        peak_rss_mib: round(r.hwm / MiB, 1),
        idle_cpu_pct: round((r.idleCpuSeconds / r.idleSeconds) * 100, 1),
        target_met: r.endRss <= TARGET_BYTES,
        peak_target_met: r.hwm <= TARGET_BYTES,
        exit: r.exit,
      })),
      runtime_s: runtime,
    }),
  )
  return results.every((r) => r.exit === 0) ? 0 : 1
})
