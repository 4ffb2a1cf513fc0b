import type { UrlOutcome, UrlReason, UrlResult } from "../../../shared/protocol/urls/result.ts"
import type { UrlsConfig } from "./schema.ts"

/** A judged state; `unknown` until enough results came in a row. */
export type UrlState = "unknown" | UrlOutcome

/** What is kept per (agent, check) between results. */
export type CheckState = {
  agent: string
  check: string
  /** the url of the latest judged result */
  url: string
  state: UrlState
  /** started_at of the latest judged result; an older result does not move the state */
  lastStartedAt: number
  /** outcome of the current run of identical outcomes, and its length */
  runOutcome: UrlOutcome
  run: number
  /** consecutive results that were not up */
  nonUpRun: number
  /** whether a result of the current run of non-up results was down */
  downInRun: boolean
}

/** One row of url_state_changes. */
export type StateChange = {
  agent: string | null
  check: string
  url: string
  at: number
  from: UrlState
  to: UrlState
  reason: UrlReason | null
  consecutive: number
  scope: "agent" | "site"
  detail: string
}

/** Key of a (agent, check) in the state maps. */
export const checkKey = (agent: string, check: string) => JSON.stringify([agent, check])

/**
 * Moves one agent's check by one result, as Gatus does: `failure_threshold` results in a row that are not up
 * turn an up (or unknown) check down, or degraded when none of them was down;
 * between degraded and down it takes `failure_threshold` results in a row of the new outcome; back to up takes
 * `success_threshold` up results in a row. Returns the next state and, when the judged state moved, the
 * number of results that led to it.
 */
export function judgeResult(
  prev: CheckState,
  r: Pick<UrlResult, "outcome" | "started_at" | "url">,
  t: Pick<UrlsConfig, "failure_threshold" | "success_threshold">,
): { next: CheckState; moved?: number } {
  const sameRun = prev.run > 0 && prev.runOutcome === r.outcome
  const run = sameRun ? prev.run + 1 : 1
  const up = r.outcome === "up"
  const nonUpRun = up ? 0 : prev.nonUpRun + 1
  const downInRun = r.outcome === "down" || (!up && prev.downInRun)
  let state = prev.state
  let moved: number | undefined
  if (up) {
    if (prev.state !== "up" && run >= t.success_threshold) [state, moved] = ["up", run]
  } else if (prev.state === "up" || prev.state === "unknown") {
    if (nonUpRun >= t.failure_threshold) {
      state = downInRun ? "down" : "degraded"
      moved = nonUpRun
    }
  } else if (r.outcome !== prev.state && run >= t.failure_threshold) {
    ;[state, moved] = [r.outcome, run]
  }
  const next: CheckState = {
    ...prev,
    ...{ url: r.url, state, lastStartedAt: r.started_at, runOutcome: r.outcome, run, nonUpRun, downInRun },
  }
  return moved === undefined ? { next } : { next, moved }
}

/** How the agents checking one url stand: `known` agents, of which `down`, and `nonUp` (down or degraded). */
export type SiteCount = { known: number; down: number; nonUp: number }

const RANK: Record<UrlState, number> = { unknown: 0, up: 1, degraded: 2, down: 3 }

/** Counts the agents of a url by their worst known state (an agent with two checks of it counts once). */
export function countSite(members: Iterable<CheckState>): SiteCount {
  const worst = new Map<string, UrlState>()
  for (const m of members) {
    if (m.state === "unknown") continue
    const seen = worst.get(m.agent)
    if (!seen || RANK[m.state] > RANK[seen]) worst.set(m.agent, m.state)
  }
  const states = [...worst.values()]
  return {
    known: states.length,
    down: states.filter((s) => s === "down").length,
    nonUp: states.filter((s) => s !== "up").length,
  }
}

/** The site's state: down when at least `quorum` of the known agents are down, degraded likewise when not up. */
export function judgeSite(c: SiteCount, quorum: number): UrlState {
  if (c.known === 0) return "unknown"
  // The epsilon keeps 0.6 * 5 = 3.0000000000000004 from asking for 4 agents.
  const needed = Math.max(1, Math.ceil(quorum * c.known - 1e-9))
  if (c.down >= needed) return "down"
  return c.nonUp >= needed ? "degraded" : "up"
}

/** "down from 1 of 3 agents", with the blame on the agent when the site as a whole is still up. */
export function changeDetail(to: UrlState, c: SiteCount, site: UrlState, scope: "agent" | "site"): string {
  const n = to === "down" ? c.down : to === "degraded" ? c.nonUp : c.known - c.nonUp
  const text = `${to} from ${n} of ${c.known} ${c.known === 1 ? "agent" : "agents"}`
  return scope === "agent" && to !== "up" && site === "up" ? `${text}: that agent's network or host` : text
}
