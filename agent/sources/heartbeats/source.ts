import { ConfigError } from "../../../shared/errors.ts"
import { createLogger, createRepeatLimiter, type Logger } from "../../../shared/logger.ts"
import {
  checkHeartbeat,
  HEARTBEAT_TEXT_LIMITS,
  type HeartbeatEntry,
  MAX_HEARTBEAT_INTERVAL_S,
  MAX_HEARTBEAT_SOURCES,
} from "../../../shared/protocol/heartbeats/heartbeat.ts"
import { VERSION } from "../../../shared/version.ts"
import { createScheduler } from "../urls/schedule.ts"

/** A heartbeat as the source appends it: the outbox gives it its id. */
export type HeartbeatDraft = Omit<HeartbeatEntry, "id">

/** What the agent tells of itself at each beat; the source adds the times, the interval and the version. */
export type HeartbeatSnapshot = Omit<
  HeartbeatDraft,
  "sent_at" | "version" | "started_at" | "uptime_s" | "interval_s"
>

export type HeartbeatSourceOptions = {
  /** seconds between two heartbeats (`heartbeat.interval_s`) */
  intervalS: number
  /** the agent's state now; a throw skips this beat (logged) */
  snapshot: () => HeartbeatSnapshot
  /** takes each heartbeat as it is made (the outbox, which gives it its id); a throw is logged */
  append: (entries: HeartbeatDraft[]) => void
  /** the agent's version (default: package.json's) */
  version?: string
  /** wall clock, ms since the epoch: sent_at (default Date.now) */
  now?: () => number
  /** seconds since the agent started, on a monotonic clock (default process.uptime) */
  uptimeS?: () => number
  logger?: Logger
}

/** Counters for the agent's page and /metrics; times are ms since the epoch. */
export type HeartbeatStats = {
  sent: number
  /** beats skipped: the snapshot threw, or made a heartbeat the collector would refuse, or append threw */
  failed: number
  last_sent_at: number | null
  last_error: string | null
}

export type HeartbeatSource = {
  name: "heartbeats"
  /** one heartbeat at once, then one every interval (fixed rate, monotonic) until `signal` aborts */
  run(signal: AbortSignal): Promise<void>
  stats(): HeartbeatStats
}

/**
 * The `heartbeats` source: every `intervalS` builds a heartbeat from `snapshot()` and hands it to `append`.
 * Slots are start + n * interval on the monotonic clock (the urls scheduler), so beats do not drift and a stalled
 * event loop skips slots instead of bursting. Texts are cut to the protocol's bounds and each heartbeat is checked
 * with the collector's own check before it is appended: one the collector would refuse is logged and skipped,
 * never kept in the outbox (it would make every envelope carrying it `bad_body`). `run` never throws. Throws
 * ConfigError for an interval the protocol does not allow.
 */
export function createHeartbeatSource(options: HeartbeatSourceOptions): HeartbeatSource {
  const interval = options.intervalS
  if (!(interval > 0 && interval <= MAX_HEARTBEAT_INTERVAL_S)) {
    throw new ConfigError(
      "config_invalid",
      `heartbeat.interval_s must be above 0 and at most ${MAX_HEARTBEAT_INTERVAL_S} (got ${interval})`,
    )
  }
  const now = options.now ?? Date.now
  const uptimeS = options.uptimeS ?? (() => process.uptime())
  const logger = options.logger ?? createLogger({ component: "heartbeats" })
  const version = cut(options.version ?? VERSION, HEARTBEAT_TEXT_LIMITS.version)
  const startedAt = Math.round(now() - uptimeS() * 1000)
  const repeat = createRepeatLimiter(60_000, now)
  const stats: HeartbeatStats = { sent: 0, failed: 0, last_sent_at: null, last_error: null }
  let failing = 0

  const fail = (key: string, message: string) => {
    stats.failed++
    failing++
    stats.last_error = message
    repeat(key, (line) => logger.warn(line), message)
  }

  const beat = () => {
    let draft: HeartbeatDraft
    try {
      const snapshot = options.snapshot()
      draft = bounded({
        ...snapshot,
        sent_at: now(),
        version,
        started_at: startedAt,
        uptime_s: Math.max(0, uptimeS()),
        interval_s: interval,
      })
    } catch (error) {
      fail("snapshot", `heartbeat skipped: its snapshot failed: ${(error as Error).message}`)
      return
    }
    const problem = checkHeartbeat({ ...draft, id: 1 })
    if (problem) {
      fail("check", `heartbeat skipped: the collector would refuse it: ${problem}`)
      return
    }
    try {
      options.append([draft])
    } catch (error) {
      fail("append", `cannot keep a heartbeat: ${(error as Error).message}`)
      return
    }
    stats.sent++
    stats.last_sent_at = draft.sent_at
    if (failing > 0) logger.info(`heartbeats sent again after ${failing} skipped`)
    failing = 0
  }

  const scheduler = createScheduler({
    jobs: [{ key: "heartbeat", periodMs: interval * 1000, offsetMs: 0, run: async () => beat() }],
  })
  return {
    name: "heartbeats",
    run: (signal) => scheduler.run(signal),
    stats: () => ({ ...stats }),
  }
}

/** The draft with its texts cut and its sources capped to what the protocol allows. */
function bounded(d: HeartbeatDraft): HeartbeatDraft {
  const L = HEARTBEAT_TEXT_LIMITS
  return {
    ...d,
    sources: d.sources
      .slice(0, MAX_HEARTBEAT_SOURCES)
      .map((s) => ({ ...s, name: cut(s.name, L.source_name) })),
    nats: { ...d.nats, server: d.nats.server === null ? null : cut(d.nats.server, L.server) },
    last_publish_error: d.last_publish_error === null ? null : cut(d.last_publish_error, L.error),
  }
}

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text)
