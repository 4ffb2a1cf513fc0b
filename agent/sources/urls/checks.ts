import { readableFile } from "../../../shared/config/preflight.ts"
import { compileBodyConditions, parseStatusRanges } from "./conditions.ts"
import { runsOn, type UrlCheckConfig, urlCheckName } from "./schema.ts"

/** Headers the probe writes itself (one request per connection, body length from `body`). */
const PROBE_HEADERS = new Set(["connection", "content-length", "transfer-encoding"])
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const HTTP_ONLY = ["headers", "body", "body_contains", "body_regex", "json_path_equals", "ca_file"] as const

/**
 * Cross-field checks of `[[urls]]` that passed the schema, one problem line each, named like
 * `urls[<name>].period_s: ...`: URLs that parse for their type, period above timeout, status ranges, regexes
 * that compile, JSON paths, headers the probe owns, and names: two checks may share a name only when no agent
 * runs both (a fleet file may give `api` a different URL per region), so the verdict is the same on every host;
 * `agentId` only makes the message name this agent when it is one of those affected.
 */
export function checkUrlChecks(checks: readonly UrlCheckConfig[], agentId: string): string[] {
  const problems: string[] = []
  for (const check of checks) {
    const at = `urls[${urlCheckName(check)}]`
    const problem = (field: string, what: string) => problems.push(`${at}.${field}: ${what}`)
    const urlProblem = check.type === "tcp" ? tcpUrlProblem(check.url) : httpUrlProblem(check.url)
    if (urlProblem) problem("url", urlProblem)
    if (check.period_s <= check.timeout_s) {
      problem(
        "period_s",
        `${check.period_s} s is not more than timeout_s ${check.timeout_s} s: a check must end before its ` +
          "next run; raise period_s or lower timeout_s",
      )
    }
    if (check.type === "tcp") {
      for (const field of HTTP_ONLY) {
        if (check[field] !== undefined) problem(field, 'does not apply to type = "tcp" (a connect only)')
      }
      continue
    }
    for (const p of parseStatusRanges(check.expect_status).problems) problems.push(`${at}.expect_status${p}`)
    for (const p of compileBodyConditions(check).problems) problems.push(`${at}.${p}`)
    for (const name of Object.keys(check.headers ?? {})) {
      if (!TOKEN.test(name)) problem(`headers.${name}`, "is not a valid header name")
      else if (PROBE_HEADERS.has(name.toLowerCase())) problem(`headers.${name}`, "is set by the probe itself")
    }
    if (check.method === "HEAD") {
      for (const field of ["body_contains", "body_regex", "json_path_equals"] as const) {
        if (check[field] !== undefined) problem(field, "a response to HEAD has no body; use GET")
      }
    }
  }
  problems.push(...duplicateNames(checks, agentId))
  return problems
}

/** What this host must allow for the checks it runs: each `ca_file` readable. */
export function urlCheckHostProblems(checks: readonly UrlCheckConfig[], agentId: string): string[] {
  return checks
    .filter((c) => runsOn(c, agentId) && c.ca_file !== undefined)
    .map((c) => readableFile(`urls[${urlCheckName(c)}].ca_file`, c.ca_file as string))
    .filter((p): p is string => p !== undefined)
}

function httpUrlProblem(url: string): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return `'${url}' is not a valid URL`
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return `'${url}' is not an http:// or https:// URL (for a TCP connect check set type = "tcp")`
  }
  if (parsed.hostname === "") return `'${url}' has no host`
  return undefined
}

function tcpUrlProblem(url: string): string | undefined {
  if (/^https?:\/\//i.test(url)) return `a TCP check takes host:port, not '${url}' (or drop type = "tcp")`
  const target = parseTcpTarget(url)
  return target ? undefined : `'${url}' is not host:port with a port of 1-65535`
}

/** `db:5432`, `tcp://db:5432`, `[::1]:5432` -> host and port; undefined when it is not one. */
export function parseTcpTarget(url: string): { host: string; port: number } | undefined {
  const m = /^(?:tcp:\/\/)?(\[[0-9A-Fa-f:.]+\]|[^\s/:[\]]+):([0-9]{1,5})$/.exec(url)
  const port = Number(m?.[2])
  if (!m?.[1] || port < 1 || port > 65535) return undefined
  return { host: m[1].replace(/^\[(.*)\]$/, "$1"), port }
}

function duplicateNames(checks: readonly UrlCheckConfig[], agentId: string): string[] {
  const problems: string[] = []
  const seen = new Map<string, number[]>()
  checks.forEach((c, i) => {
    const name = urlCheckName(c)
    seen.set(name, [...(seen.get(name) ?? []), i])
  })
  for (const [name, indices] of seen) {
    if (indices.length < 2) continue
    const clashes = indices.flatMap((i, k) =>
      indices.slice(k + 1).flatMap((j) => {
        const shared = sharedAgents(checks[i] as UrlCheckConfig, checks[j] as UrlCheckConfig)
        return shared === undefined ? [] : [{ i, j, shared }]
      }),
    )
    const first = clashes[0]
    if (!first) continue
    const where =
      first.shared === "all"
        ? "every agent"
        : first.shared.includes(agentId)
          ? `agent '${agentId}'`
          : `agent '${first.shared[0]}'`
    problems.push(
      `urls[${name}].name: '${name}' names checks ${first.i + 1} and ${first.j + 1} of [[urls]], both run by ` +
        `${where}; give them different names (name = "...")`,
    )
  }
  return problems
}

/** The agents running both checks: "all", a list, or undefined when none does. */
function sharedAgents(a: UrlCheckConfig, b: UrlCheckConfig): "all" | string[] | undefined {
  if (a.agents === undefined && b.agents === undefined) return "all"
  const shared = a.agents === undefined ? b.agents : a.agents.filter((x) => b.agents?.includes(x) ?? true)
  return shared && shared.length > 0 ? shared : undefined
}
