import { existsSync } from "node:fs"
import type { Subprocess } from "bun"
import { natsServerPath } from "../../shared/nats-server-path.ts"

/** How a process ended: its exit code, or the signal that killed it. */
export type ProcessExit = { code: number | null; signal: string | number | null }

/** One run of nats-server: its pid, its end, and what it last wrote to stderr. */
export type ServerProcess = {
  pid: number
  exited: Promise<ProcessExit>
  /** resolves when nats-server says it accepts clients; rejects if it exits first or after `timeoutMs` */
  ready(timeoutMs: number): Promise<void>
  /** resolves with the first stderr line from now on that matches `pattern`; rejects on exit or timeout */
  nextLine(pattern: RegExp, timeoutMs: number): Promise<string>
  lastLines(): string[]
  isRunning(): boolean
  kill(signal: NodeJS.Signals): void
}

const KEEP_LINES = 20
const READY = /\[INF\] Server is ready/

/**
 * Spawns `nats-server -c <conf>`. Where util-linux's setpriv exists it runs nats-server with a parent-death
 * signal, so that a collector killed with SIGKILL takes its nats-server with it.
 */
export function spawnServer(confPath: string): ServerProcess {
  const setpriv = setprivPath()
  const command = [natsServerPath(), "-c", confPath]
  let proc: Subprocess<"ignore", "ignore", "pipe">
  try {
    proc = Bun.spawn(setpriv ? [setpriv, "--pdeathsig", "SIGTERM", "--", ...command] : command, {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    })
  } catch (cause) {
    throw new Error("cannot start nats-server: is it installed? (Debian: apt-get install nats-server)", {
      cause,
    })
  }
  const lines: string[] = []
  let sawReady = false
  const watchers = new Set<(line: string | null) => void>()
  const pump = (async () => {
    let partial = ""
    const decoder = new TextDecoder()
    for await (const chunk of proc.stderr) {
      const parts = (partial + decoder.decode(chunk, { stream: true })).split("\n")
      partial = parts.pop() ?? ""
      for (const line of parts) {
        lines.push(line)
        if (READY.test(line)) sawReady = true
        if (lines.length > KEEP_LINES) lines.shift()
        for (const watch of watchers) watch(line)
      }
    }
    if (partial) lines.push(partial)
  })()
  const exited = (async () => {
    await proc.exited
    await pump.catch(() => {})
    for (const watch of watchers) watch(null)
    return { code: proc.exitCode, signal: proc.signalCode }
  })()
  const nextLine = (pattern: RegExp, timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`nats-server did not log ${pattern} within ${timeoutMs} ms`)),
        timeoutMs,
      )
      const watch = (line: string | null) => {
        if (line === null) {
          const exit = { code: proc.exitCode, signal: proc.signalCode }
          finish(new Error(`nats-server exited (${describeExit(exit)}): ${lines.slice(-3).join(" | ")}`))
        } else if (pattern.test(line)) finish(line)
      }
      function finish(result: string | Error) {
        clearTimeout(timer)
        watchers.delete(watch)
        if (typeof result === "string") resolve(result)
        else reject(result)
      }
      watchers.add(watch)
      if (proc.exitCode !== null || proc.signalCode !== null) watch(null)
    })
  return {
    pid: proc.pid,
    exited,
    async ready(timeoutMs) {
      if (!sawReady) await nextLine(READY, timeoutMs)
    },
    nextLine,
    lastLines: () => [...lines],
    isRunning: () => proc.exitCode === null && proc.signalCode === null,
    kill: (signal) => proc.kill(signal),
  }
}

/** "code 1" or "signal SIGKILL". */
export function describeExit(exit: ProcessExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`
}

/** util-linux setpriv, which can give a child a parent-death signal; undefined where it is missing. */
export function setprivPath(): string | undefined {
  return Bun.which("setpriv") ?? ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p))
}
