import { ConfigError } from "../../../shared/errors.ts"
import { createLogger, type Logger } from "../../../shared/logger.ts"
import type { UrlOutcome, UrlReason } from "../../../shared/protocol/urls/result.ts"
import { resolveUrlCheck, runUrlCheck, type UrlCheck, type UrlResultDraft } from "./check.ts"
import { checkUrlChecks } from "./checks.ts"
import { createScheduler, jitterOffset, monotonic, type RunRecord } from "./schedule.ts"
import { runsOn, type UrlCheckConfig, urlCheckName } from "./schema.ts"

export type UrlsSourceOptions = {
  /** every `[[urls]]` of the config; those whose `agents` leave this agent out are not run */
  checks: readonly UrlCheckConfig[]
  agentId: string
  /** each check logs as `urls[<name>]` (a child of this logger) */
  logger?: Logger
  /** takes each result as it comes (the outbox, which gives it its id) */
  append: (results: UrlResultDraft[]) => void
  /** most checks running at once (default 64) */
  concurrency?: number
  /** wall clock, ms since the epoch: started_at and certificate expiry */
  now?: () => number
  /** called as each run starts, on the monotonic clock (tests, benchmarks) */
  onStart?: (run: RunRecord) => void
}

/** One check as the agent's page and /metrics show it; times are ms since the epoch. */
export type UrlCheckStatus = {
  name: string
  url: string
  type: "http" | "tcp"
  period_s: number
  outcome: UrlOutcome | null
  reason: UrlReason | null
  message: string | null
  status: number | null
  total_ms: number | null
  /** results in a row with this outcome */
  streak: number
  last_run_at: number | null
  next_run_at: number | null
  runs: number
  skips: number
  running: boolean
  /** how late the last run started after its slot, and the most so far (ms) */
  last_drift_ms: number | null
  max_drift_ms: number
}

export type UrlsStatus = {
  checks: UrlCheckStatus[]
  /** names of checks in the config that other agents run */
  other_agents: string[]
}

export type UrlsSource = { name: "urls"; run(signal: AbortSignal): Promise<void>; status(): UrlsStatus }

type Last = { result: UrlResultDraft; streak: number }

/**
 * The `urls` source: runs this agent's checks on the scheduler (fixed rate, jittered first runs, no overlap,
 * bounded concurrency) and hands each result to `append`. A change of a check's outcome is logged once (warn
 * when it turns degraded or down, info when up again), not every result. Throws ConfigError for checks that
 * fail checkUrlChecks or whose ca_file cannot be read.
 */
export function createUrlsSource(options: UrlsSourceOptions): UrlsSource {
  const problems = checkUrlChecks(options.checks, options.agentId)
  if (problems.length > 0) {
    throw new ConfigError("config_invalid", `urls: ${problems.length} problem(s)`, { details: problems })
  }
  const now = options.now ?? Date.now
  const logger = options.logger ?? createLogger({ component: "urls" })
  const mine = options.checks.filter((c) => runsOn(c, options.agentId)).map(resolveUrlCheck)
  const others = options.checks.filter((c) => !runsOn(c, options.agentId)).map(urlCheckName)
  const last = new Map<string, Last>()
  const loggers = new Map(mine.map((c) => [c.name, logger.child(`urls[${c.name}]`)]))

  const record = (check: UrlCheck, result: UrlResultDraft) => {
    const before = last.get(check.name)
    const same = before?.result.outcome === result.outcome
    last.set(check.name, { result, streak: same ? (before?.streak ?? 0) + 1 : 1 })
    if (same) return
    const log = loggers.get(check.name) ?? logger
    const what = result.reason ? `${result.outcome} (${result.reason}): ${result.message}` : result.outcome
    if (result.outcome !== "up") log.warn(before ? `${what}, was ${before.result.outcome}` : what)
    else if (before) log.info(`up again after ${before.streak} result(s) ${before.result.outcome}`)
    else log.debug("up")
  }

  const scheduler = createScheduler({
    concurrency: options.concurrency,
    onStart: options.onStart,
    onError: (key, error) => (loggers.get(key) ?? logger).error(`check failed: ${(error as Error).message}`),
    jobs: mine.map((check) => ({
      key: check.name,
      periodMs: check.config.period_s * 1000,
      offsetMs: jitterOffset(`${check.name}\0${options.agentId}`, check.config.period_s * 1000),
      async run(signal: AbortSignal) {
        let result: UrlResultDraft
        try {
          result = await runUrlCheck(check, signal, now)
        } catch (error) {
          if (signal.aborted) return
          throw error
        }
        // a result that completes while stopping is dropped: the outbox may be closing
        if (signal.aborted) return
        record(check, result)
        try {
          options.append([result])
        } catch (error) {
          ;(loggers.get(check.name) ?? logger).error(`cannot keep a result: ${(error as Error).message}`)
        }
      },
    })),
  })

  return {
    name: "urls",
    run: (signal) => scheduler.run(signal),
    status() {
      const wall = now()
      const mono = monotonic()
      const checks = mine.map((check): UrlCheckStatus => {
        const s = scheduler.stats(check.name)
        const l = last.get(check.name)
        return {
          name: check.name,
          url: check.config.url,
          type: check.config.type,
          period_s: check.config.period_s,
          outcome: l?.result.outcome ?? null,
          reason: l?.result.reason ?? null,
          message: l?.result.message ?? null,
          status: l?.result.status ?? null,
          total_ms: l?.result.timings.total_ms ?? null,
          streak: l?.streak ?? 0,
          last_run_at: l?.result.started_at ?? null,
          next_run_at: s?.nextAt == null ? null : Math.round(wall + (s.nextAt - mono)),
          runs: s?.runs ?? 0,
          skips: s?.skips ?? 0,
          running: s?.busy ?? false,
          last_drift_ms: s?.lastDriftMs ?? null,
          max_drift_ms: s?.maxDriftMs ?? 0,
        }
      })
      return { checks, other_agents: others }
    },
  }
}
