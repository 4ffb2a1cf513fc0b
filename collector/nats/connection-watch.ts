import type { NatsConnection } from "@nats-io/transport-node"
import { safeText } from "../../shared/log-text.ts"
import { createRepeatLimiter, type Logger } from "../../shared/logger.ts"

export type NatsConnectionWatchOptions = {
  log: Logger
  /** connected (true) or not (false), on each change */
  onConnected(connected: boolean): void
  /** the connection was lost and made again */
  onReconnect(): void
  /** how often "still disconnected" and repeated client errors are logged again (default once a minute) */
  reportEveryMs?: number
  now?: () => number
}

/** Whether the collector's NATS connection is up, and if not why, for /health. */
export type NatsConnectionWatch = {
  readonly up: boolean
  /** `nats: disconnected from <server> since <time>: <reason>`, or undefined while connected */
  readonly problem: string | undefined
}

/**
 * Follows the connection's status events: a lost connection is logged once (warn, with server and reason) and
 * then at most once a minute while it lasts, its return once (info); repeated client errors are rate-limited.
 */
export function watchNatsConnection(nc: NatsConnection, o: NatsConnectionWatchOptions): NatsConnectionWatch {
  const now = o.now ?? Date.now
  const every = o.reportEveryMs ?? 60_000
  let up = true
  let problem: string | undefined
  let downSince = 0
  let lastError: string | undefined
  let lastErrorAt = 0
  let outage = createRepeatLimiter(every, now)
  const errorsLimiter = createRepeatLimiter(every, now)
  o.onConnected(true)
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") {
        if (!up) continue
        up = false
        downSince = now()
        // An error just before the disconnect is its likely cause; an older one is not.
        const reason = lastError && now() - lastErrorAt < 5000 ? lastError : "connection closed"
        problem = `nats: disconnected from ${s.server} since ${new Date(downSince).toISOString()}: ${reason}`
        outage = createRepeatLimiter(every, now)
        outage(
          "down",
          (line) => o.log.warn(line),
          `NATS disconnected from ${s.server}: ${reason}; reconnecting`,
        )
        o.onConnected(false)
      } else if (s.type === "reconnecting") {
        const seconds = Math.round((now() - downSince) / 1000)
        outage("down", (line) => o.log.warn(line), `NATS still disconnected after ${seconds} s; reconnecting`)
      } else if (s.type === "reconnect") {
        const seconds = Math.round((now() - downSince) / 1000)
        up = true
        problem = undefined
        lastError = undefined
        o.log.info(`NATS reconnected to ${s.server} after ${seconds} s`)
        o.onConnected(true)
        o.onReconnect()
      } else if (s.type === "error") {
        lastError = safeText(s.error.message)
        lastErrorAt = now()
        errorsLimiter(lastError, (line) => o.log.warn(line), `NATS: ${lastError}`)
      } else if (s.type === "staleConnection") {
        lastError = "no answer to pings (stale connection)"
        lastErrorAt = now()
      } else if (s.type === "ldm") {
        o.log.warn(`NATS server ${s.server} is shutting down (lame duck mode); the client will reconnect`)
      } else if (s.type === "slowConsumer") {
        errorsLimiter("slow", (line) => o.log.warn(line), `NATS: slow consumer on ${s.sub.getSubject()}`)
      } else if (s.type === "close") {
        up = false
        problem = "nats: connection closed"
        o.onConnected(false)
      }
    }
  })()
  return {
    get up() {
      return up
    },
    get problem() {
      return problem
    },
  }
}
