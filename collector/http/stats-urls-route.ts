import { Elysia } from "elysia"
import { type UrlStats, type UrlStatsOptions, urlStats } from "../kinds/urls/stats.ts"
import { QueryError } from "../sinks/duckdb/query-pool-error.ts"
import { queryErrorResponse } from "./sql-route.ts"

/** Hours /stats/urls covers without `hours`, and the most it accepts (a year). */
export const STATS_DEFAULT_HOURS = 24
export const STATS_MAX_HOURS = 8760

/** What the route needs of the query pool: trusted read-only queries, rows as objects. */
export type StatsQueries = { rows(sql: string): Promise<Record<string, unknown>[]> }

const PARAMETERS = new Set(["hours", "check", "agent", "format"])

/**
 * `GET /stats/urls?hours=24&check=<name>&agent=<name>&format=json|csv`: per check, and per agent within it,
 * uptime, latency percentiles, failures by reason, last outcome, streak and last state change (see urlStats).
 * A bad parameter is a 400 `{"error": ..., "parameter": ...}`; `notReady()` while DuckDB is not open yet.
 */
export function createStatsUrlsRoute(
  queries: () => StatsQueries | undefined,
  notReady: () => Response,
  now: () => number = Date.now,
) {
  return new Elysia().get("/stats/urls", async ({ request }) => {
    const parsed = parseStatsParams(new URL(request.url).searchParams)
    if ("error" in parsed) {
      return new Response(JSON.stringify(parsed), {
        status: 400,
        headers: { "content-type": "application/json" },
      })
    }
    const pool = queries()
    if (!pool) return notReady()
    try {
      const stats = await urlStats((sql) => pool.rows(sql), { ...parsed.options, now: now() })
      return parsed.format === "csv"
        ? new Response(statsCsv(stats), { headers: { "content-type": "text/csv; charset=utf-8" } })
        : Response.json(stats)
    } catch (error) {
      if (error instanceof QueryError) return queryErrorResponse(error)
      throw error
    }
  })
}

type Parsed =
  | { options: Omit<UrlStatsOptions, "now">; format: "json" | "csv" }
  | { error: string; parameter: string }

/** Parses the query string once: every parameter known, given at most once, in range. */
export function parseStatsParams(params: URLSearchParams): Parsed {
  for (const name of new Set(params.keys())) {
    if (!PARAMETERS.has(name)) {
      return { error: `unknown parameter '${name}'; known: ${[...PARAMETERS].join(", ")}`, parameter: name }
    }
    if (params.getAll(name).length > 1) return { error: `${name} is given more than once`, parameter: name }
  }
  const hoursText = params.get("hours") ?? String(STATS_DEFAULT_HOURS)
  const hours = /^[0-9]{1,4}$/.test(hoursText) ? Number(hoursText) : Number.NaN
  if (!(hours >= 1 && hours <= STATS_MAX_HOURS)) {
    return {
      error: `hours must be a whole number from 1 to ${STATS_MAX_HOURS}, not '${hoursText.slice(0, 40)}'`,
      parameter: "hours",
    }
  }
  const options: Omit<UrlStatsOptions, "now"> = { hours }
  for (const name of ["check", "agent"] as const) {
    const value = params.get(name)
    if (value === null) continue
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (value.length === 0 || value.length > 256 || /[\u0000-\u001f\u007f]/.test(value)) {
      return {
        error: `${name} must be a name of 1-256 characters without control characters`,
        parameter: name,
      }
    }
    options[name] = value
  }
  const format = params.get("format") ?? "json"
  if (format !== "json" && format !== "csv") {
    return { error: `format must be json or csv, not '${format.slice(0, 40)}'`, parameter: "format" }
  }
  return { options, format }
}

const CSV_COLUMNS = [
  "check",
  "agent",
  "host",
  "url",
  "checks",
  "up",
  "degraded",
  "down",
  "uptime_pct",
  "degraded_pct",
  "p50_ms",
  "p95_ms",
  "p99_ms",
  "failures",
  "last_outcome",
  "last_at",
  "streak",
  "state",
  "last_change_at",
  "last_change_from",
  "last_change_to",
  "last_change_detail",
] as const

/** One row per check (agent empty: all agents) followed by one per agent of it; failures as `reason=n;...`. */
export function statsCsv(stats: UrlStats): string {
  const lines = [CSV_COLUMNS.join(",")]
  for (const c of stats.checks) {
    for (const [agent, host, b] of [
      ["", "", c] as const,
      ...c.agents.map((a) => [a.agent, a.host, a] as const),
    ]) {
      const failures = Object.entries(b.failures)
        .sort(([x], [y]) => (x < y ? -1 : 1))
        .map(([reason, n]) => `${reason}=${n}`)
        .join(";")
      const l = b.latency_ms
      const ch = b.last_change
      const row = [c.check, agent, host, b.url, b.checks, b.up, b.degraded, b.down, b.uptime_pct]
      row.push(b.degraded_pct, l.p50 ?? "", l.p95 ?? "", l.p99 ?? "", failures, b.last_outcome, b.last_at)
      row.push(b.streak, b.state, ch?.at ?? "", ch?.from ?? "", ch?.to ?? "", ch?.detail ?? "")
      lines.push(row.map(csvField).join(","))
    }
  }
  return `${lines.join("\r\n")}\r\n`
}

function csvField(v: string | number): string {
  const s = String(v)
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}
