/**
 * The parts of bench:urls beside its main flow: the local HTTP server its checks ask (this file, run as a child
 * process so that serving is neither the agent's work nor the bench's), and what it computes from the stored
 * results, the agent's threads, its /metrics and its outbox.
 */
import { Database } from "bun:sqlite"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { jitterOffset } from "../../agent/sources/urls/index.ts"
import { quantile } from "./format.ts"
import { onCleanup } from "./lifecycle.ts"
import { sqlNumber } from "./product.ts"

if (import.meta.main) serve()

/** As the child: 200 "ok" for every path; prints `port <n>` once listening and `requests <n>` on SIGTERM. */
function serve(): void {
  let requests = 0
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      requests++
      return new Response("ok")
    },
  })
  console.log(`port ${server.port}`)
  process.once("SIGTERM", () => {
    console.log(`requests ${requests}`)
    void server.stop(true).finally(() => process.exit(0))
  })
}

export type LocalServer = { port: number; pid: number; stop(): Promise<number | null> }

/** Starts the server child and waits for its port; `stop` returns how many requests it answered. */
export async function startLocalServer(): Promise<LocalServer> {
  const proc = Bun.spawn([process.execPath, import.meta.path], { stdout: "pipe", stderr: "inherit" })
  onCleanup("url server", () => {
    if (proc.exitCode === null) proc.kill("SIGKILL")
  })
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let text = ""
  const line = async (prefix: string): Promise<number> => {
    for (;;) {
      const m = new RegExp(`^${prefix} (\\d+)$`, "m").exec(text)
      if (m) return Number(m[1])
      const { value, done } = await reader.read()
      if (done) throw new Error(`the url server exited (${proc.exitCode}) before printing '${prefix}'`)
      text += decoder.decode(value, { stream: true })
    }
  }
  const port = await Promise.race([
    line("port"),
    Bun.sleep(10_000).then(() => {
      throw new Error("the url server did not start within 10 s")
    }),
  ])
  return {
    port,
    pid: proc.pid,
    async stop() {
      proc.kill("SIGTERM")
      const requests = await Promise.race([line("requests"), Bun.sleep(5000).then(() => null)])
      await proc.exited
      return requests
    },
  }
}

/** One row of url_checks: times in ms since the epoch (DuckDB keeps started_at to the millisecond). */
export type StoredResult = { check: string; startedAt: number; receivedAt: number; outcome: string }

export type Spread = { n: number; p50: number; p99: number; max: number }

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    n: sorted.length,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  }
}

/** Rows grouped by check, each in started_at order. */
export function byCheck(rows: StoredResult[]): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const r of rows) {
    const list = out.get(r.check)
    if (list) list.push(r.startedAt)
    else out.set(r.check, [r.startedAt])
  }
  for (const list of out.values()) list.sort((a, b) => a - b)
  return out
}

/**
 * Schedule drift: run k of a check should start k periods after its run 0, so drift_k =
 * |(t_k - t_0) - k * period| over every k >= 1. `offSlot` counts runs nearer another slot than slot k (a run
 * skipped or doubled), which the formula then reports as a whole period of drift.
 */
export function scheduleDrift(runs: Map<string, number[]>, periodMs: number): Spread & { offSlot: number } {
  const drifts: number[] = []
  let offSlot = 0
  for (const times of runs.values()) {
    const t0 = times[0] as number
    for (let k = 1; k < times.length; k++) {
      const since = (times[k] as number) - t0
      drifts.push(Math.abs(since - k * periodMs))
      if (Math.round(since / periodMs) !== k) offSlot++
    }
  }
  return { ...spread(drifts), offSlot }
}

/**
 * Runs the schedule called for before `stopAt` (wall ms): slot n of a check is origin + its jitter offset +
 * n * period, as the agent's scheduler places them. The origin (unknown to the bench, the scheduler starts
 * before the agent logs 'running:') is estimated as the median of each check's first start minus its offset.
 */
export function expectedRuns(
  names: string[],
  agentId: string,
  periodMs: number,
  runs: Map<string, number[]>,
  stopAt: number,
): { expected: number; origin: number } {
  const offsets = new Map(names.map((n) => [n, jitterOffset(`${n}\0${agentId}`, periodMs)]))
  const origins: number[] = []
  for (const [name, times] of runs) {
    const offset = offsets.get(name)
    if (offset !== undefined && times[0] !== undefined) origins.push(times[0] - offset)
  }
  const origin = quantile(
    origins.sort((a, b) => a - b),
    0.5,
  )
  let expected = 0
  for (const offset of offsets.values()) {
    const first = origin + offset
    if (first < stopAt) expected += Math.floor((stopAt - first) / periodMs) + 1
  }
  return { expected, origin }
}

/** CPU seconds of each thread of a process, summed by thread name (the main thread as "main (JavaScript)"). */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>()
  let tids: string[] = []
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")
      const close = stat.lastIndexOf(")")
      const name = Number(tid) === pid ? "main (JavaScript)" : stat.slice(stat.indexOf("(") + 1, close)
      const f = stat.slice(close + 2).split(" ")
      // utime and stime in clock ticks of 10 ms
      const seconds = (Number(f[11]) + Number(f[12])) / 100
      out.set(name, (out.get(name) ?? 0) + seconds)
    } catch {
      // the thread ended
    }
  }
  return out
}

/** Per thread name, the CPU seconds spent between two readings, most first. */
export function threadDelta(from: Map<string, number>, to: Map<string, number>): [string, number][] {
  return [...to]
    .map(([name, s]): [string, number] => [name, s - (from.get(name) ?? 0)])
    .filter(([, s]) => s > 0)
    .sort((a, b) => b[1] - a[1])
}

/**
 * The p50 and p99 of a Prometheus histogram in the agent's /metrics, as the upper bound of the bucket each
 * falls in (null when the agent does not export it).
 */
export function histogramQuantiles(
  text: string,
  name: string,
): { count: number; p50: number; p99: number } | null {
  const buckets: [number, number][] = []
  for (const line of text.split("\n")) {
    const m = new RegExp(`^${name}_bucket\\{.*le="([^"]+)".*\\} (\\S+)$`).exec(line)
    if (m) buckets.push([m[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2])])
  }
  const count = buckets.find(([le]) => le === Number.POSITIVE_INFINITY)?.[1]
  if (count === undefined || count === 0) return null
  buckets.sort((a, b) => a[0] - b[0])
  const at = (q: number) => buckets.find(([, n]) => n >= q * count)?.[0] ?? Number.POSITIVE_INFINITY
  return { count, p50: at(0.5), p99: at(0.99) }
}

/** The last id the agent's outbox gave to a urls result, and the entries still waiting in it (read-only). */
export function outboxState(stateDir: string): { lastId: number; waiting: number } | null {
  const path = join(stateDir, "outbox.db")
  if (!existsSync(path)) return null
  try {
    const db = new Database(path, { readonly: true })
    try {
      const waiting = db.query<{ n: number }, []>("SELECT count(*) AS n FROM outbox_entries").get()?.n ?? 0
      const lastId =
        db.query<{ id: number }, []>("SELECT last_id AS id FROM outbox_seq WHERE kind = 'urls'").get()?.id ??
        0
      return { lastId, waiting }
    } finally {
      db.close()
    }
  } catch {
    return null
  }
}

/** Sleeps until `at` (performance.now() ms), failing as soon as the agent exits. */
export async function until(at: number, agent: { proc: { exitCode: number | null }; logPath: string }) {
  while (performance.now() < at) {
    if (agent.proc.exitCode !== null)
      throw new Error(`agent exited ${agent.proc.exitCode}; see ${agent.logPath}`)
    await Bun.sleep(Math.min(200, Math.max(1, at - performance.now())))
  }
}

/** Waits until the stored count stops growing for `quietMs` (the last batches in flight), at most `maxMs`. */
export async function settledCount(httpUrl: string, quietMs = 3000, maxMs = 30_000): Promise<number> {
  const deadline = performance.now() + maxMs
  let last = -1
  let since = performance.now()
  while (performance.now() < deadline) {
    const n = (await sqlNumber(httpUrl, "SELECT count(*) AS n FROM url_checks")) ?? -1
    if (n !== last) [last, since] = [n, performance.now()]
    else if (performance.now() - since >= quietMs) break
    await Bun.sleep(250)
  }
  return last
}

/** CPU seconds over wall seconds, as % of one core */
export const pct = (cpuSeconds: number, seconds: number) => (cpuSeconds / seconds) * 100
export const ms = (n: number) => `${n.toFixed(0)} ms`
