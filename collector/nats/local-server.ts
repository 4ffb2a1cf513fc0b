import { mkdirSync } from "node:fs"
import { join, resolve } from "node:path"
import type { LocalNatsTls } from "../../shared/config/nats-schema.ts"
import type { Logger } from "../../shared/logger.ts"
import { COLLECTOR_USER, type NatsAgent } from "./auth-config.ts"
import { stopLeftoverServer } from "./leftover.ts"
import { collectorPassword } from "./password.ts"
import { renderServerConf, writeConfAtomically } from "./server-conf.ts"
import { describeExit, type ProcessExit, type ServerProcess, spawnServer } from "./server-process.ts"

/** A nats-server with JetStream that the collector started itself and keeps running (the single-host default). */
export type LocalNatsServer = {
  url: string
  /** the collector's own user on this server (every permission) */
  user: string
  password: string
  /** pid of the running nats-server; undefined while it is down */
  readonly pid: number | undefined
  /** false from an unexpected exit until the restarted server is ready (for /health) */
  readonly up: boolean
  /** how often it was restarted after dying */
  readonly restarts: number
  /** Rewrites the enrolled agents' NATS users and reloads nats-server; connected clients stay connected. */
  setAgents(agents: NatsAgent[]): Promise<void>
  /** stops nats-server and its supervision */
  stop(): Promise<void>
}

export type LocalNatsOptions = {
  dataDir: string
  host: string
  port: number
  maxPayloadBytes: number
  /** enrolled keys at start; change them later with `setAgents` */
  agents: NatsAgent[]
  tls?: LocalNatsTls
  log: Logger
  /** after each successful restart, with the count so far */
  onRestart?(restarts: number): void
  /** nats-server could not be restarted 5 times in a row: the collector should exit non-zero */
  onFatal(error: Error): void
}

const READY_TIMEOUT_MS = 15_000
const RELOAD_TIMEOUT_MS = 10_000
const STOP_TIMEOUT_MS = 10_000
const FIRST_BACKOFF_MS = 500
const MAX_BACKOFF_MS = 30_000
// Up this long before it died: a one-off, not a crash loop, so the backoff starts over.
const STABLE_MS = 30_000
const MAX_FAILED_RESTARTS = 5

/**
 * Starts `nats-server` with its store and config under `<dataDir>/nats`, waits until it accepts clients, and
 * restarts it with backoff whenever it dies. A nats-server left running by a previous collector is stopped first.
 */
export async function startLocalNatsServer(options: LocalNatsOptions): Promise<LocalNatsServer> {
  const dir = resolve(options.dataDir, "nats")
  mkdirSync(dir, { recursive: true })
  const confPath = join(dir, "nats-server.conf")
  const pidFile = join(dir, "nats-server.pid")
  const password = collectorPassword(dir)
  const writeConf = (agents: NatsAgent[]) =>
    writeConfAtomically(
      confPath,
      renderServerConf({
        host: options.host,
        port: options.port,
        maxPayloadBytes: options.maxPayloadBytes,
        storeDir: dir,
        pidFile,
        collectorPassword: password,
        agents,
        tls: options.tls,
      }),
    )
  const launch = async (): Promise<ServerProcess> => {
    await stopLeftoverServer(pidFile, confPath, (m) => options.log.warn(m))
    const server = spawnServer(confPath)
    try {
      await server.ready(READY_TIMEOUT_MS)
      return server
    } catch (error) {
      server.kill("SIGKILL")
      await server.exited
      throw new Error(`local nats-server did not start: ${(error as Error).message}`, { cause: error })
    }
  }

  writeConf(options.agents)
  let current: ServerProcess | undefined = await launch()
  let up = true
  let restarts = 0
  let stopping = false
  let startedAt = Date.now()
  let crashesInARow = 0
  let wake: (() => void) | undefined
  let restarting: Promise<void> | undefined
  const url = localServerUrl(options.host, options.port, options.tls !== undefined)

  const supervise = (server: ServerProcess) => {
    void server.exited.then((exit) => {
      if (stopping || server !== current) return
      up = false
      current = undefined
      if (Date.now() - startedAt >= STABLE_MS) crashesInARow = 0
      options.log.error(
        `local nats-server (pid ${server.pid}) exited unexpectedly (${describeExit(exit)}); last output:\n  ${server.lastLines().slice(-5).join("\n  ")}`,
      )
      restarting = restart(exit)
    })
  }
  const restart = async (exit: ProcessExit) => {
    for (let failures = 0; ; ) {
      const delay = Math.min(FIRST_BACKOFF_MS * 2 ** crashesInARow, MAX_BACKOFF_MS)
      crashesInARow++
      await new Promise<void>((done) => {
        const timer = setTimeout(done, delay)
        wake = () => {
          clearTimeout(timer)
          done()
        }
      })
      if (stopping) return
      try {
        const server = await launch()
        if (stopping) {
          server.kill("SIGTERM")
          await server.exited
          return
        }
        current = server
        up = true
        restarts++
        startedAt = Date.now()
        options.log.info(`restarted local nats-server on ${url} (pid ${server.pid}, restart ${restarts})`)
        supervise(server)
        options.onRestart?.(restarts)
        return
      } catch (error) {
        failures++
        options.log.error(
          `cannot restart local nats-server (attempt ${failures}): ${(error as Error).message}`,
        )
        if (failures >= MAX_FAILED_RESTARTS) {
          options.onFatal(
            new Error(
              `local nats-server died (${describeExit(exit)}) and could not be restarted ${failures} times in a row: ${(error as Error).message}`,
            ),
          )
          return
        }
      }
    }
  }
  supervise(current)
  options.log.info(`started local nats-server on ${url} (pid ${current.pid}, store ${dir})`)

  let changes = Promise.resolve()
  const applyAgents = async (agents: NatsAgent[]) => {
    writeConf(agents) // a restart picks it up if the server is down now
    const server = current
    if (!server || !up) return
    const reloaded = server.nextLine(/Reloaded server configuration|Failed to reload/, RELOAD_TIMEOUT_MS)
    server.kill("SIGHUP")
    let line: string
    try {
      line = await reloaded
    } catch (error) {
      if (!server.isRunning()) return // it died meanwhile; the restart reads the new config
      throw error
    }
    if (/Failed to reload/.test(line)) throw new Error(`nats-server refused the new config: ${line}`)
  }
  return {
    url,
    user: COLLECTOR_USER,
    password,
    get pid() {
      return current?.pid
    },
    get up() {
      return up
    },
    get restarts() {
      return restarts
    },
    setAgents(agents) {
      // One reload at a time, in call order: each waits for nats-server to confirm the one before.
      const run = changes.then(() => applyAgents(agents))
      changes = run.catch(() => {})
      return run
    },
    async stop() {
      stopping = true
      up = false
      wake?.()
      await restarting
      const server = current
      current = undefined
      if (!server) return
      server.kill("SIGTERM")
      const timer = setTimeout(() => server.kill("SIGKILL"), STOP_TIMEOUT_MS)
      await server.exited
      clearTimeout(timer)
    },
  }
}

/** How a client on this host reaches a local server listening on `host:port` (a wildcard bind means loopback). */
export function localServerUrl(host: string, port: number, tls: boolean): string {
  const client = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host
  return `${tls ? "tls" : "nats"}://${client.includes(":") ? `[${client}]` : client}:${port}`
}
