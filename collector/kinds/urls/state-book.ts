import type { UrlResult } from "../../../shared/protocol/urls/result.ts"
import type { UrlsConfig } from "./schema.ts"
import {
  type CheckState,
  changeDetail,
  checkKey,
  countSite,
  judgeResult,
  judgeSite,
  type SiteCount,
  type StateChange,
  type UrlState,
} from "./states.ts"

/** The committed state of every (agent, check) and every url's site state. */
export class UrlStateBook {
  checks = new Map<string, CheckState>()
  sites = new Map<string, UrlState>()

  constructor(readonly config: UrlsConfig) {}

  /** Replaces the state with what was loaded from the tables. */
  reset(checks: CheckState[], sites: [url: string, state: UrlState][]): void {
    this.checks = new Map(checks.map((c) => [checkKey(c.agent, c.check), c]))
    this.sites = new Map(sites)
  }

  /** A working copy for one transaction; the book is unchanged until its `commit()`. */
  draft(): UrlStateDraft {
    return new UrlStateDraft(this)
  }
}

/**
 * Changes on top of a book: judges results in started_at order and collects the state changes. Only the
 * (agent, check) pairs and urls touched are copied; `commit()` writes them into the book.
 */
export class UrlStateDraft {
  readonly checks = new Map<string, CheckState>()
  readonly sites = new Map<string, UrlState>()
  readonly changes: StateChange[] = []

  constructor(private readonly book: UrlStateBook) {}

  /** Judges one result; false when it is older than the last judged one of its agent and check (not judged). */
  apply(agent: string, r: UrlResult): boolean {
    const key = checkKey(agent, r.check)
    const prev = this.checks.get(key) ?? this.book.checks.get(key) ?? initial(agent, r)
    if (r.started_at < prev.lastStartedAt) return false
    const { next, moved } = judgeResult(prev, r, this.book.config)
    this.checks.set(key, next)
    const moveUrl = prev.url !== r.url
    if (moved !== undefined || (moveUrl && next.state !== "unknown")) {
      const count = countSite(this.members(r.url))
      const site = this.judgeSite(r, r.url, moved ?? 0, count)
      if (moved !== undefined) {
        const detail = changeDetail(next.state, count, site.state, "agent")
        this.changes.push({ ...change(agent, r, prev.state, next.state, moved), detail })
      }
      // The site row comes after the agent row that caused it.
      if (site.change) this.changes.push(site.change)
    }
    // A check moved to another url leaves the old url's agents one fewer.
    if (moveUrl && prev.state !== "unknown") {
      const site = this.judgeSite(r, prev.url, 0, countSite(this.members(prev.url)))
      if (site.change) this.changes.push(site.change)
    }
    return true
  }

  /** Adopts the working copy into the book (after COMMIT). */
  commit(): void {
    for (const [key, c] of this.checks) this.book.checks.set(key, c)
    for (const [url, s] of this.sites) this.book.sites.set(url, s)
  }

  /** Recomputes one url's site state, with the row to record when it moved. */
  private judgeSite(
    r: UrlResult,
    url: string,
    consecutive: number,
    count: SiteCount,
  ): { state: UrlState; change?: StateChange } {
    const from = this.sites.get(url) ?? this.book.sites.get(url) ?? "unknown"
    const state = judgeSite(count, this.book.config.site_quorum)
    if (state === from) return { state }
    this.sites.set(url, state)
    const detail = changeDetail(state, count, state, "site")
    return {
      state,
      change: { ...change(null, { ...r, url }, from, state, consecutive), scope: "site", detail },
    }
  }

  /** Every (agent, check) whose latest judged result was for `url`, as of this draft. */
  private *members(url: string): Generator<CheckState> {
    for (const [key, c] of this.book.checks) if (!this.checks.has(key) && c.url === url) yield c
    for (const c of this.checks.values()) if (c.url === url) yield c
  }
}

function initial(agent: string, r: UrlResult): CheckState {
  return {
    agent,
    check: r.check,
    url: r.url,
    state: "unknown",
    lastStartedAt: Number.NEGATIVE_INFINITY,
    runOutcome: r.outcome,
    run: 0,
    nonUpRun: 0,
    downInRun: false,
  }
}

function change(
  agent: string | null,
  r: UrlResult,
  from: UrlState,
  to: UrlState,
  consecutive: number,
): Omit<StateChange, "detail"> {
  const reason = to === "up" ? null : r.reason
  return {
    agent,
    check: r.check,
    url: r.url,
    at: r.started_at,
    from,
    to,
    reason,
    consecutive,
    scope: "agent",
  }
}
