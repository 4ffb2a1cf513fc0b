import type { UrlOutcome } from "../../../shared/protocol/urls/result.ts"
import type { UrlState } from "./states.ts"

/** Runs one trusted read-only query (the query pool's `rows`), rows as JSON-friendly objects. */
export type StatsQuery = (sql: string) => Promise<Record<string, unknown>[]>

export type UrlStatsOptions = {
  hours: number
  check?: string
  agent?: string
  /** ms since the epoch; the window is [now - hours, now] */
  now: number
}

/** The latest row of url_state_changes for a check (scope 'site') or an agent's check (scope 'agent'). */
export type LastChange = {
  at: string
  from: UrlState
  to: UrlState
  reason: string | null
  consecutive: number
  scope: "agent" | "site"
  detail: string
}

/** Figures over the window for one check (all agents, or the one asked for) or one agent's check. */
export type UrlStatsBlock = {
  url: string
  checks: number
  up: number
  degraded: number
  down: number
  /** up and degraded results of all, in percent: a degraded check still answered */
  uptime_pct: number
  degraded_pct: number
  /** total_ms percentiles (linear interpolation) over the up and degraded results; null when there are none */
  latency_ms: { p50: number | null; p95: number | null; p99: number | null }
  /** results not up, by reason */
  failures: Record<string, number>
  last_outcome: UrlOutcome
  last_at: string
  /** results in a row, newest first within the window, with the last outcome (across agents for a check) */
  streak: number
  /** the judged state: to_state of last_change, `unknown` when none was recorded */
  state: UrlState
  last_change: LastChange | null
}

export type UrlStats = {
  hours: number
  from: string
  to: string
  checks: (UrlStatsBlock & { check: string; agents: (UrlStatsBlock & { agent: string; host: string })[] })[]
}

/** A SQL string literal. */
const lit = (s: string) => `'${s.replaceAll("'", "''")}'`
const iso = (ms: unknown) => new Date(Number(ms)).toISOString()
const round = (v: number) => Math.round(v * 1000) / 1000
const num = (v: unknown) => (v === null || v === undefined ? null : round(Number(v)))
/** Key of a check (agent null) or of an agent's check in the maps below. */
const key = (row: Record<string, unknown>) => JSON.stringify([row.check, row.agent ?? null])

/** Uptime, latency percentiles, failures by reason, last outcome, streak and last change per check and agent. */
export async function urlStats(query: StatsQuery, o: UrlStatsOptions): Promise<UrlStats> {
  const from = o.now - o.hours * 3_600_000
  let where = `started_at >= make_timestamp(${BigInt(Math.floor(from)) * 1000n})`
  if (o.check !== undefined) where += ` AND "check" = ${lit(o.check)}`
  if (o.agent !== undefined) where += ` AND agent = ${lit(o.agent)}`
  const q = (p: number) =>
    `quantile_cont(total_ms, ${p}) FILTER (outcome <> 'down') AS p${Math.round(p * 100)}`
  const totals = await query(`
    SELECT "check", agent, arg_max(url, started_at) AS url, arg_max(host, started_at) AS host, count(*) AS n,
      count(*) FILTER (outcome = 'up') AS up, count(*) FILTER (outcome = 'degraded') AS degraded,
      count(*) FILTER (outcome = 'down') AS down, ${q(0.5)}, ${q(0.95)}, ${q(0.99)}
    FROM url_checks WHERE ${where} GROUP BY GROUPING SETS (("check"), ("check", agent))`)
  const reasons = await query(`
    SELECT "check", agent, reason, count(*) AS n FROM url_checks WHERE ${where} AND reason IS NOT NULL
    GROUP BY GROUPING SETS (("check", reason), ("check", agent, reason))`)
  const streaks = await query(`
    WITH r AS (
      SELECT "check", agent, outcome, epoch_ms(started_at) AS at,
        row_number() OVER (PARTITION BY "check", agent ORDER BY started_at DESC, entry_id DESC) AS rn
      FROM url_checks WHERE ${where}
      UNION ALL
      SELECT "check", NULL, outcome, epoch_ms(started_at),
        row_number() OVER (PARTITION BY "check" ORDER BY started_at DESC, agent DESC, entry_id DESC)
      FROM url_checks WHERE ${where}
    ), l AS (SELECT * FROM r WHERE rn = 1)
    SELECT r."check", r.agent, l.outcome, l.at,
      coalesce(min(r.rn) FILTER (r.outcome <> l.outcome), max(r.rn) + 1) - 1 AS streak
    FROM r JOIN l ON r."check" = l."check" AND r.agent IS NOT DISTINCT FROM l.agent
    GROUP BY r."check", r.agent, l.outcome, l.at`)
  const changes = await query(`
    SELECT "check", agent, scope, epoch_ms(changed_at) AS at, from_state, to_state, reason, consecutive, detail
    FROM url_state_changes
    WHERE ${o.check === undefined ? "true" : `"check" = ${lit(o.check)}`}
      AND (scope = 'site' OR ${o.agent === undefined ? "true" : `agent = ${lit(o.agent)}`})
    QUALIFY row_number() OVER (PARTITION BY "check", agent, scope ORDER BY changed_at DESC, received_at DESC) = 1`)

  const failures = new Map<string, Record<string, number>>()
  for (const r of reasons) {
    const f = failures.get(key(r)) ?? {}
    f[String(r.reason)] = Number(r.n)
    failures.set(key(r), f)
  }
  const streakOf = new Map(streaks.map((r) => [key(r), r]))
  const changeOf = new Map(changes.map((r) => [key(r), r]))
  const block = (t: Record<string, unknown>): UrlStatsBlock => {
    const n = Number(t.n)
    const [up, degraded, down] = [Number(t.up), Number(t.degraded), Number(t.down)]
    const s = streakOf.get(key(t)) ?? {}
    const c = changeOf.get(key(t))
    return {
      url: String(t.url),
      checks: n,
      up,
      degraded,
      down,
      uptime_pct: round(((up + degraded) / n) * 100),
      degraded_pct: round((degraded / n) * 100),
      latency_ms: { p50: num(t.p50), p95: num(t.p95), p99: num(t.p99) },
      failures: failures.get(key(t)) ?? {},
      last_outcome: s.outcome as UrlOutcome,
      last_at: iso(s.at),
      streak: Number(s.streak),
      state: c ? (c.to_state as UrlState) : "unknown",
      last_change: c
        ? {
            at: iso(c.at),
            from: c.from_state as UrlState,
            to: c.to_state as UrlState,
            reason: c.reason === null ? null : String(c.reason),
            consecutive: Number(c.consecutive),
            scope: c.scope as "agent" | "site",
            detail: String(c.detail),
          }
        : null,
    }
  }
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
  const checks = totals
    .filter((t) => t.agent === null)
    .sort((a, b) => byName(String(a.check), String(b.check)))
    .map((t) => ({
      check: String(t.check),
      ...block(t),
      agents: totals
        .filter((a) => a.agent !== null && a.check === t.check)
        .sort((a, b) => byName(String(a.agent), String(b.agent)))
        .map((a) => ({ agent: String(a.agent), host: String(a.host), ...block(a) })),
    }))
  return { hours: o.hours, from: iso(from), to: iso(o.now), checks }
}
