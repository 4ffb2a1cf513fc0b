/**
 * Shared pieces of the benchmarks in scripts/bench: options, process CPU and memory from /proc, a temp
 * directory and child processes that are always cleaned up, agent/collector configs, JetStream stream
 * figures, and the figures block every bench prints.
 */
import { Database } from "bun:sqlite"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { keygen } from "../../agent/cli/keygen.ts"
import { CollectorConfigSchema } from "../../collector/config/schema.ts"
import { ensureStreamAndConsumer } from "../../collector/ingest/stream-setup.ts"
import { parseArgs } from "../../shared/cli.ts"
import { parseConfig } from "../../shared/config/load.ts"
import { type NatsServer, startNatsServer } from "../../test/harness/nats-server.ts"
import { freePort, waitFor } from "../../test/harness/ports.ts"
import {
  agentCommand,
  type Child,
  collectorCommand,
  spawnLogged,
  writeConfig,
} from "../../test/harness/processes.ts"
import { querySql } from "../../test/harness/sql.ts"

export const MiB = 1024 * 1024
export const root = join(import.meta.dir, "../..")

// ---------------------------------------------------------------------------------------------------------
// options

/** `--name value` flags, with `BENCH_NAME` environment variables as fallback. */
export class Options {
  private readonly parsed = parseArgs(process.argv.slice(2), ["help", "keep", "compile"])
  constructor(readonly usage: string) {
    if (this.parsed.switches.has("help")) {
      console.log(usage)
      process.exit(0)
    }
  }
  private raw(name: string): string | undefined {
    return this.parsed.flags.get(name) ?? process.env[`BENCH_${name.toUpperCase().replaceAll("-", "_")}`]
  }
  num(name: string, fallback: number): number {
    const raw = this.raw(name)
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`--${name} must be a non-negative number, not '${raw}'`)
    return value
  }
  str(name: string, fallback: string): string {
    return this.raw(name) ?? fallback
  }
  flag(name: string): boolean {
    const env = process.env[`BENCH_${name.toUpperCase().replaceAll("-", "_")}`]
    return this.parsed.switches.has(name) || env === "1" || env === "true"
  }
}

// ---------------------------------------------------------------------------------------------------------
// /proc figures

const CLK_TCK = (() => {
  try {
    const out = Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()
    const n = Number(out)
    return Number.isFinite(n) && n > 0 ? n : 100
  } catch {
    return 100
  }
})()

export type ProcSample = {
  /** user + system CPU seconds of the process itself */
  cpuSeconds: number
  /** CPU seconds of its children that it has already waited for */
  childCpuSeconds: number
  rssBytes: number
  /** VmHWM: the kernel's peak resident set size of this process */
  hwmBytes: number
  comm: string
}

/** One reading of /proc/<pid>/stat and /proc/<pid>/status; undefined once the process is gone. */
export function readProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const close = stat.lastIndexOf(")")
    const comm = stat.slice(stat.indexOf("(") + 1, close)
    const f = stat
      .slice(close + 2)
      .split(" ")
      .map(Number)
    // after "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
    const cpuSeconds = ((f[11] ?? 0) + (f[12] ?? 0)) / CLK_TCK
    const childCpuSeconds = ((f[13] ?? 0) + (f[14] ?? 0)) / CLK_TCK
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024
    return { cpuSeconds, childCpuSeconds, rssBytes: kb("VmRSS"), hwmBytes: kb("VmHWM"), comm }
  } catch {
    return undefined
  }
}

/** Direct children of a process (all its threads' children). */
export function childPids(pid: number): number[] {
  const out: number[] = []
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim()
      if (text) for (const p of text.split(/\s+/)) out.push(Number(p))
    }
  } catch {
    // gone
  }
  return out
}

/** The process and all its descendants. */
export function processTree(pid: number): number[] {
  const out = [pid]
  for (let i = 0; i < out.length; i++) out.push(...childPids(out[i] as number))
  return out
}

/** A direct child of this bench process by command name (e.g. the nats-server the harness started). */
export function findOwnChild(comm: string): number | undefined {
  return childPids(process.pid)
    .filter((pid) => readProc(pid)?.comm === comm)
    .sort((a, b) => b - a)[0]
}

export type ProcFigures = {
  /** CPU seconds of the process and its descendants (last reading of each) */
  cpuSeconds: number
  /** max of the kernel's VmHWM of the main process and the sampled RSS of the whole tree */
  peakRssBytes: number
  hwmBytes: number
  sampledPeakRssBytes: number
  rssNowBytes: number
  samples: number
  alive: boolean
}

/**
 * Samples a process (and any children it has) every `intervalMs`: RSS of the tree, VmHWM and CPU seconds.
 * A compiled or `bun`-run agent/collector is one process, so the tree is normally just the pid.
 */
export class ProcMonitor {
  private readonly cpuByPid = new Map<number, number>()
  private hwm = 0
  private sampledPeak = 0
  private rssNow = 0
  private count = 0
  private alive = true
  private timer: ReturnType<typeof setInterval> | undefined
  readonly series: Array<{ t: number; rss: number }> = []

  constructor(
    readonly pid: number,
    intervalMs = 200,
  ) {
    this.sample()
    this.timer = setInterval(() => this.sample(), intervalMs)
  }

  /** Takes a reading now (call it right before reading `figures()` at a measurement point). */
  sample(): void {
    const root = readProc(this.pid)
    if (!root) {
      this.alive = false
      return
    }
    let rss = 0
    for (const pid of processTree(this.pid)) {
      const s = pid === this.pid ? root : readProc(pid)
      if (!s) continue
      rss += s.rssBytes
      this.cpuByPid.set(pid, s.cpuSeconds)
    }
    this.hwm = Math.max(this.hwm, root.hwmBytes)
    this.sampledPeak = Math.max(this.sampledPeak, rss)
    this.rssNow = rss
    this.count++
    this.series.push({ t: Date.now(), rss })
  }

  figures(): ProcFigures {
    let cpu = 0
    for (const v of this.cpuByPid.values()) cpu += v
    return {
      cpuSeconds: cpu,
      peakRssBytes: Math.max(this.hwm, this.sampledPeak),
      hwmBytes: this.hwm,
      sampledPeakRssBytes: this.sampledPeak,
      rssNowBytes: this.rssNow,
      samples: this.count,
      alive: this.alive,
    }
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }
}

// ---------------------------------------------------------------------------------------------------------
// cleanup, deadline, temp dir

type Cleanup = { name: string; run: () => Promise<void> | void }
const cleanups: Cleanup[] = []
const tempDirs: string[] = []
let keepTemp = false
let cleaning: Promise<void> | undefined

/** Registers an async cleanup; they run in reverse order at the end, on error, signal or deadline. */
export function onCleanup(name: string, run: () => Promise<void> | void): void {
  cleanups.push({ name, run })
}

/** Runs every registered cleanup once (each bounded to 10 s), then removes the temp dirs. */
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const c = cleanups.pop() as Cleanup
      try {
        await Promise.race([
          c.run(),
          Bun.sleep(10_000).then(() => {
            throw new Error("took over 10 s")
          }),
        ])
      } catch (error) {
        console.error(`bench: cleanup '${c.name}' failed: ${(error as Error).message}`)
      }
    }
    killOwnChildrenSync()
    removeTempDirsSync()
  })()
  return cleaning
}

/** Last resort on exit: SIGKILL whatever this process started and still runs, remove temp data. */
function killOwnChildrenSync(): void {
  for (const pid of childPids(process.pid)) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
}

function removeTempDirsSync(): void {
  for (const dir of tempDirs.splice(0)) {
    if (keepTemp) console.log(`bench: kept ${dir}`)
    else rmSync(dir, { recursive: true, force: true })
  }
}

let installed = false
function installHandlers(): void {
  if (installed) return
  installed = true
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}, cleaning up`)
      void cleanupAll().finally(() => process.exit(130))
    })
  }
  process.on("exit", () => {
    killOwnChildrenSync()
    removeTempDirsSync()
  })
}

/** A fresh directory under /tmp, removed at the end unless `keep`. */
export function benchDir(prefix: string, keep: boolean): string {
  installHandlers()
  keepTemp = keep
  const dir = mkdtempSync(join("/tmp", prefix))
  tempDirs.push(dir)
  return dir
}

/**
 * Runs `main` with a hard runtime limit; prints the error, cleans up and exits non-zero on failure.
 * Exit codes: 0 ok, 1 error, 124 runtime limit.
 */
export async function runBench(
  name: string,
  maxSeconds: number,
  main: () => Promise<number>,
): Promise<never> {
  installHandlers()
  let limitReached = false
  const deadline = setTimeout(() => {
    limitReached = true
    console.error(`\n${name}: runtime limit of ${maxSeconds} s reached, stopping`)
    void cleanupAll().finally(() => process.exit(124))
  }, maxSeconds * 1000)
  let code = 1
  try {
    code = await main()
  } catch (error) {
    // after the runtime limit the cleanup pulls things away from under `main`: that error is expected
    if (!limitReached) {
      console.error(
        `\n${name}: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      )
    }
    code = 1
  } finally {
    clearTimeout(deadline)
    await cleanupAll()
  }
  process.exit(limitReached ? 124 : code)
}

// ---------------------------------------------------------------------------------------------------------
// nats, stream, configs, processes

/** A nats-server with JetStream and its store in `storeDir` (removed at cleanup with the bench dir). */
export async function startNats(storeDir: string): Promise<NatsServer & { pid: number | undefined }> {
  mkdirSync(storeDir, { recursive: true })
  const nats = await startNatsServer({ storeDir })
  onCleanup("nats-server", () => nats.stop())
  return Object.assign(nats, { pid: findOwnChild("nats-server") })
}

/** The collector's config with its defaults for this NATS URL (what the bench's collectors run with). */
export function collectorDefaults(natsUrl: string) {
  return parseConfig(
    { data_dir: "unused", enrolled_keys: "unused", nats: { url: natsUrl } },
    CollectorConfigSchema,
  )
}

/** Creates the stream and consumer exactly as a collector with default settings would. */
export async function ensureStream(natsUrl: string): Promise<void> {
  const nc = await connect({ servers: natsUrl, name: "outpost-bench" })
  try {
    await ensureStreamAndConsumer(await jetstreamManager(nc), collectorDefaults(natsUrl))
  } finally {
    await nc.close()
  }
}

export type StreamFigures = { bytes: number; messages: number; maxPayload: number }

/** Stored bytes and messages of the collector's stream. */
export async function streamFigures(natsUrl: string): Promise<StreamFigures> {
  const nc = await connect({ servers: natsUrl, name: "outpost-bench" })
  try {
    const jsm = await jetstreamManager(nc)
    const info = await jsm.streams.info(collectorDefaults(natsUrl).stream.name)
    return { bytes: info.state.bytes, messages: info.state.messages, maxPayload: nc.info?.max_payload ?? 0 }
  } finally {
    await nc.close()
  }
}

export type Keys = { privatePath: string; publicPath: string }
export function makeKeys(dir: string, agentId: string): Keys {
  return keygen(join(dir, "keys", `${agentId}.key`), agentId, true)
}

export function writeAgentConfig(
  path: string,
  o: { agentId: string; stateDir: string; keys: Keys; natsUrl: string; logs: Record<string, unknown>[] },
  extra: Record<string, unknown> = {},
): string {
  return writeConfig(path, {
    agent_id: o.agentId,
    host: "bench-host",
    state_dir: o.stateDir,
    private_key_file: o.keys.privatePath,
    nats: { servers: [o.natsUrl] },
    logs: o.logs,
    ...extra,
  })
}

export async function writeCollectorConfig(
  path: string,
  o: { dataDir: string; keys: Keys; natsUrl: string },
): Promise<{ path: string; httpUrl: string }> {
  const port = await freePort()
  writeConfig(path, {
    data_dir: o.dataDir,
    enrolled_keys: o.keys.publicPath,
    nats: { url: o.natsUrl },
    http: { port },
  })
  return { path, httpUrl: `http://127.0.0.1:${port}` }
}

export type Proc = Child & { name: string; startedAt: number; monitor: ProcMonitor }

/** Spawns a product process with its output in `logPath`, monitored, and killed at cleanup if still running. */
export function spawnProduct(name: string, cmd: string[], logPath: string, sampleMs = 200): Proc {
  const startedAt = performance.now()
  const child = spawnLogged(cmd, logPath)
  const monitor = new ProcMonitor(child.proc.pid, sampleMs)
  const proc: Proc = { ...child, name, startedAt, monitor }
  onCleanup(name, async () => {
    monitor.stop()
    if (child.proc.exitCode === null && child.proc.signalCode === null) await child.kill9()
  })
  return proc
}

export function spawnAgent(configPath: string, logPath: string, binary?: string, sampleMs = 200): Proc {
  return spawnProduct("agent", agentCommand(configPath, binary), logPath, sampleMs)
}

export function spawnCollector(configPath: string, logPath: string, sampleMs = 200): Proc {
  return spawnProduct("collector", collectorCommand(configPath), logPath, sampleMs)
}

/** Waits until the process log contains `text`; fails early when the process exits. */
export async function waitForLog(p: Proc, text: string, timeoutMs = 30_000): Promise<number> {
  await waitFor(
    `${p.name} to log '${text}'`,
    async () => {
      if (p.proc.exitCode !== null) throw new Error(`${p.name} exited ${p.proc.exitCode}; see ${p.logPath}`)
      return existsSync(p.logPath) && (await Bun.file(p.logPath).text()).includes(text)
    },
    timeoutMs,
  )
  return performance.now()
}

export async function waitForHealth(p: Proc, httpUrl: string, timeoutMs = 30_000): Promise<number> {
  await waitFor(
    `${p.name} health`,
    async () => {
      if (p.proc.exitCode !== null) throw new Error(`${p.name} exited ${p.proc.exitCode}; see ${p.logPath}`)
      return (await fetch(`${httpUrl}/health`)).ok
    },
    timeoutMs,
  )
  return performance.now()
}

/** SIGTERM and wait up to `ms`; returns the exit code and how long it took, or kills it. */
export async function stopGracefully(
  p: Proc,
  ms = 20_000,
): Promise<{ code: number | null; seconds: number }> {
  p.monitor.stop()
  const started = performance.now()
  if (p.proc.exitCode !== null) return { code: p.proc.exitCode, seconds: 0 }
  p.proc.kill("SIGTERM")
  const code = await Promise.race([p.proc.exited, Bun.sleep(ms).then(() => "timeout" as const)])
  if (code === "timeout") {
    await p.kill9()
    return { code: null, seconds: (performance.now() - started) / 1000 }
  }
  return { code, seconds: (performance.now() - started) / 1000 }
}

/** Committed positions per path from the agent's state db, read-only (opened lazily once it exists). */
export class StatePositions {
  private db: Database | undefined
  constructor(private readonly stateDir: string) {}
  read(): Map<string, number> {
    const out = new Map<string, number>()
    if (!this.db) {
      const path = join(this.stateDir, "state.db")
      if (!existsSync(path) || !existsSync(`${path}-shm`)) return out
      try {
        this.db = new Database(path, { readonly: true })
      } catch {
        return out
      }
    }
    try {
      for (const row of this.db
        .query<{ path: string; position: number }, []>(
          "SELECT path, max(position) AS position FROM log_files GROUP BY path",
        )
        .all()) {
        out.set(row.path, row.position)
      }
    } catch {
      // the table may not exist yet
    }
    return out
  }
  close(): void {
    this.db?.close()
    this.db = undefined
  }
}

/** Collector /metrics as name{labels} -> value. */
export async function collectorMetrics(httpUrl: string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  try {
    const text = await (await fetch(`${httpUrl}/metrics`)).text()
    for (const line of text.split("\n")) {
      if (!line || line.startsWith("#")) continue
      const at = line.lastIndexOf(" ")
      out.set(line.slice(0, at), Number(line.slice(at + 1)))
    }
  } catch {
    // collector gone
  }
  return out
}

/** One number from a `SELECT ... AS n` query (null on error). */
export async function sqlNumber(httpUrl: string, sql: string): Promise<number | null> {
  try {
    const rows = await querySql(httpUrl, sql)
    const n = rows[0]?.n
    return n === undefined || n === null ? null : Number(n)
  } catch {
    return null
  }
}

export { querySql }

// ---------------------------------------------------------------------------------------------------------
// process logs

export type LogFindings = { lines: number; notable: string[]; notableCount: number; lastProgress?: string }

const NOTABLE = /error|fail|warn|retry|retrying|reject|cannot|lost|timeout|timed out|exception|panic|killed/i

/** Lines of a product log worth a look (errors, retries, rejections), and the agent's last progress line. */
export function scanLog(path: string, max = 8): LogFindings {
  let text = ""
  try {
    text = readFileSync(path, "utf8")
  } catch {
    return { lines: 0, notable: [], notableCount: 0 }
  }
  const lines = text.split("\n").filter((l) => l.length > 0)
  const notable = lines.filter((l) => NOTABLE.test(l) && !/retries 0$/.test(l))
  const progress = lines.filter((l) => l.includes(" shipped "))
  return {
    lines: lines.length,
    notable: notable.slice(0, max),
    notableCount: notable.length,
    lastProgress: progress[progress.length - 1],
  }
}

export function printLogFindings(name: string, path: string): LogFindings {
  const f = scanLog(path)
  console.log(`  ${name} log: ${f.lines} lines, ${f.notableCount} notable (error/warn/retry/reject)`)
  for (const l of f.notable) console.log(`    | ${l.length > 300 ? `${l.slice(0, 300)}...` : l}`)
  if (f.notableCount > f.notable.length) console.log(`    | ... ${f.notableCount - f.notable.length} more`)
  if (f.lastProgress) console.log(`    last progress: ${f.lastProgress}`)
  return f
}

// ---------------------------------------------------------------------------------------------------------
// formatting

export const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US")
export const fmtMiB = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`
export const fmtSec = (s: number) => `${s.toFixed(2)} s`
export const round = (n: number, digits = 2) => Number(n.toFixed(digits))

export type Row = [label: string, value: string, target?: string]

/** A titled block of aligned figures, with the target beside a figure when there is one. */
export function printBlock(title: string, rows: Row[]): void {
  console.log(`\n== ${title} ==`)
  const width = Math.max(...rows.map(([l]) => l.length))
  const valueWidth = Math.max(...rows.map(([, v, t]) => (t ? v.length : 0)))
  for (const [label, value, target] of rows) {
    console.log(`  ${label.padEnd(width)}  ${target ? `${value.padEnd(valueWidth)}   ${target}` : value}`)
  }
}

/** "target >= 100 MiB/s: MET" style note. */
export function targetNote(ok: boolean, text: string): string {
  return `target ${text}: ${ok ? "MET" : "MISSED"}`
}

export function procRows(name: string, f: ProcFigures, seconds: number): Row[] {
  return [
    [
      `${name} CPU`,
      `${f.cpuSeconds.toFixed(2)} s (${((f.cpuSeconds / seconds) * 100).toFixed(0)}% of one core)`,
    ],
    [
      `${name} peak RSS`,
      `${fmtMiB(f.peakRssBytes)} (VmHWM ${fmtMiB(f.hwmBytes)}, sampled ${fmtMiB(f.sampledPeakRssBytes)})`,
    ],
  ]
}

export function procJson(f: ProcFigures) {
  return {
    cpu_s: round(f.cpuSeconds),
    peak_rss_mib: round(f.peakRssBytes / MiB, 1),
    hwm_mib: round(f.hwmBytes / MiB, 1),
  }
}

/** Exact quantile (nearest rank) of a sorted array. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
}
