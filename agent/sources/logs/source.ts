import type { Database } from "bun:sqlite"
import { ConfigError } from "../../../shared/errors.ts"
import { createLogger, createRepeatLimiter, type Logger } from "../../../shared/logger.ts"
import type { LogsSourceConfig } from "../../config/schema.ts"
import type { Source, SourceContext, SourceStatus } from "../source.ts"
import { openCheckpoints } from "./checkpoint.ts"
import { createDiscovery } from "./discovery.ts"
import { createMatchLog } from "./notices.ts"
import { pruneDone } from "./restore.ts"
import { compileRules, type RuleSet } from "./rules.ts"
import { createTracker, type Tracker } from "./tracker.ts"

export type LogsSourceOptions = {
  config: LogsSourceConfig
  /** the agent's state database (`openStateDb`): generations and committed positions live in `log_files` */
  db: Database
  /** clock for `readAt`, the database's timestamps and `rotate_wait_ms`; Date.now by default */
  now?: () => number
  /**
   * where it speaks, as `logs[<name>]` (the caller names the child): problems (a file that vanished with unread
   * bytes, an unreadable file) at warn, each file's life (found, rotated, done, caught up) at info; by default
   * a logger of its own on stdout
   */
  logger?: Logger
  /** when a file counts as a backlog worth reporting, and how often its progress is logged (tests) */
  backlog?: { thresholdBytes?: number; everyMs?: number }
  /** observers for tests and diagnostics: the watcher is in place; a rescan (then a read round) starts */
  observe?: { watching?(): void; scan?(): void }
}

/** Done generations are kept at least this long, and as long as their file exists. */
const KEEP_DONE_MS = 7 * 24 * 3600 * 1000

/**
 * A source that tails the files named by `config.paths` and emits their lines in chunks. Throws a ConfigError
 * when a rule is unusable. Positions are saved only when a chunk is acked.
 */
export function createLogsSource(options: LogsSourceOptions): Source {
  const { config } = options
  const rules = config.rules.length > 0 ? compileRules(config.name, config.rules) : undefined
  if (config.mode === "match" && !rules) {
    throw new ConfigError(
      "invalid_rule",
      `logs source '${config.name}': mode "match" needs at least one rule`,
    )
  }
  const seen: Seen = { matches: new Map() }
  return {
    name: config.name,
    run: (ctx) => run(options, config.mode === "match" ? rules : undefined, ctx, seen),
    status: (): SourceStatus => ({
      patterns: config.paths.map((pattern) => ({ pattern, files: seen.matches.get(pattern) ?? 0 })),
      files: seen.tracker?.files() ?? [],
    }),
  }
}

/** What `status` reads from a run: files matched per configured path at the last scan, the live generations. */
type Seen = { matches: Map<string, number>; tracker?: Tracker }

async function run(
  options: LogsSourceOptions,
  rules: RuleSet | undefined,
  ctx: SourceContext,
  seen: Seen,
): Promise<void> {
  const { config, db, now = Date.now, observe } = options
  const logger = options.logger ?? createLogger({ component: `logs[${config.name}]` })
  const { signal } = ctx
  if (signal.aborted) return
  const cp = openCheckpoints(db, config.name, now)

  let rescanRequested = false
  let wakeRequested = false
  let wakeUp: (() => void) | undefined
  const wake = () => {
    wakeRequested = true
    wakeUp?.()
  }
  const tracker = createTracker({
    config,
    cp,
    rules,
    now,
    logger,
    backlog: options.backlog,
    requestRescan: () => {
      rescanRequested = true
      wake()
    },
  })
  seen.tracker = tracker
  const matchLog = createMatchLog(logger)
  const discovery = createDiscovery(config.paths, (pattern, count) => {
    seen.matches.set(pattern, count)
    matchLog(pattern, count)
  })
  const repeat = createRepeatLimiter(60_000, now)
  const aborted = new Promise<void>((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true }),
  )

  /** Waits for a watcher event, the next poll or the abort. */
  const idle = () =>
    new Promise<void>((resolve) => {
      if (wakeRequested || signal.aborted) return resolve()
      const done = () => {
        clearTimeout(timer)
        signal.removeEventListener("abort", done)
        wakeUp = undefined
        resolve()
      }
      const timer = setTimeout(done, config.poll_interval_ms)
      signal.addEventListener("abort", done, { once: true })
      wakeUp = done
    })

  try {
    const firstRun = !cp.hasState()
    pruneDone(cp, now() - KEEP_DONE_MS)
    tracker.restore()
    // start_at "end" skips what is already there only for the files of the very first start
    tracker.rescan(discovery.scan(), { initial: true, atEnd: firstRun && config.start_at === "end" })
    cp.markStarted()
    let lastScan = performance.now()
    discovery.watch(
      (kind) => {
        if (kind === "add") rescanRequested = true
        wake()
      },
      (error) =>
        repeat("watcher", (m) => logger.warn(m), `file watcher: ${(error as Error).message ?? error}`),
      () => observe?.watching?.(),
    )

    while (!signal.aborted) {
      wakeRequested = false
      if (rescanRequested || performance.now() - lastScan >= config.poll_interval_ms) {
        rescanRequested = false
        lastScan = performance.now()
        tracker.rescan(discovery.scan())
        observe?.scan?.()
      }
      // one chunk per generation per round, so that a big file does not starve the others
      let emitted = false
      for (const g of tracker.round()) {
        if (signal.aborted) break
        const chunk = tracker.step(g)
        if (!chunk) continue
        emitted = true
        const pending = ctx.emit(chunk)
        pending.catch(() => {}) // after an abort nobody awaits it; a rejection before that is rethrown below
        await Promise.race([pending, aborted])
      }
      if (!emitted) await idle()
    }
  } finally {
    await discovery.close()
    tracker.close()
    seen.tracker = undefined
  }
}
