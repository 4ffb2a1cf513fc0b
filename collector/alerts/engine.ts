import type { Logger } from "../../shared/logger.ts"
import type { AgentPresence } from "../kinds/heartbeats/index.ts"
import type { AcceptedEnvelope, RejectedEnvelope } from "../sinks/duckdb/types.ts"
import type { AlertRuleConfig, AlertsConfig } from "./config.ts"
import type { DeliveryStore, DeliveryWorker, NewDelivery } from "./deliveries/index.ts"
import { type AlertGroup, AlertGrouper, messageKey } from "./grouper.ts"
import type { AlertHistory } from "./history.ts"
import { logMatchSignal, matchedLines, SeenMatches } from "./log-matches.ts"
import { PresenceWatch } from "./presence-watch.ts"
import type { AlertMessage } from "./targets/index.ts"
import type { AlertLine, AlertSignal, GroupNotification } from "./types.ts"

export type AlertEngineOptions = {
  config: AlertsConfig
  store: DeliveryStore
  /** alerts and open groups, on the store's connection */
  history: AlertHistory
  worker: DeliveryWorker
  presence: () => ReadonlyMap<string, AgentPresence>
  startedAt: number
  logger: Logger
  /** each message made, for metrics */
  onMessage?(rule: string, status: string): void
  /** a preview link for a matched line, when links are signed and the agent advertises where */
  link?: (line: AlertLine) => string | undefined
}

/**
 * Signals -> rules -> groups -> messages stored for each target -> the delivery worker. `tick` is called every
 * second: it judges presence, lets due groups speak (each message is in DuckDB for every target before anything
 * is sent) and sends what is due within each target's budget.
 */
export class AlertEngine {
  private readonly grouper: AlertGrouper
  private readonly presence: PresenceWatch
  private readonly rules: Map<string, AlertRuleConfig>
  private readonly seen = new SeenMatches()
  private savedRevision = -1

  constructor(private readonly o: AlertEngineOptions) {
    const c = o.config
    this.rules = new Map(c.rules.map((r) => [r.name, r]))
    const timing = {
      groupWaitMs: c.group_wait_s * 1000,
      groupIntervalMs: c.group_interval_s * 1000,
      repeatIntervalMs: c.repeat_interval_s * 1000,
    }
    this.grouper = new AlertGrouper({
      policy: (rule) => ({ groupBy: this.rules.get(rule)?.group_by ?? [], timing }),
    })
    this.presence = new PresenceWatch({
      offlineAfterMs: c.agent_offline_after_s * 1000,
      startedAt: o.startedAt,
    })
  }

  /** Takes back the groups open when the collector stopped: their episodes and message numbers go on. */
  async restore(): Promise<number> {
    const groups = await this.o.history.loadGroups()
    this.grouper.restore(groups)
    this.savedRevision = this.grouper.revision
    return groups.length
  }

  /** A signal of a kind of alert: each rule it matches raises it under that rule's name. */
  signal(s: AlertSignal): void {
    for (const rule of this.rules.values()) {
      if (!ruleMatches(rule, s)) continue
      this.grouper.add({ ...s, rule: rule.name, labels: { ...s.labels, alertname: rule.name } })
    }
  }

  /**
   * The envelopes a committed batch rejected, counted per reason and claimed agent: a burst of forged or
   * unknown-agent envelopes is one message per group. The agent they name is only claimed (`claimed_agent`, not
   * `agent`), so an attacker posing as an offline agent is not held back by that agent's inhibition.
   */
  rejected(records: readonly RejectedEnvelope[], at: number): void {
    const counts = new Map<string, { reason: string; claimed: string; n: number }>()
    for (const r of records) {
      const claimed = r.agent ?? ""
      const key = `${r.reason}\0${claimed}`
      const c = counts.get(key) ?? { reason: r.reason, claimed, n: 0 }
      c.n++
      counts.set(key, c)
    }
    for (const c of counts.values()) {
      this.signal({
        rule: "rejected_envelopes",
        labels: { reason: c.reason, claimed_agent: c.claimed },
        kind: "event",
        status: "firing",
        at,
        count: c.n,
      })
    }
  }

  /** The matched lines of a committed batch (a line already seen raises nothing). */
  committed(accepted: readonly AcceptedEnvelope[], at: number): void {
    for (const m of matchedLines(accepted)) if (this.seen.first(m)) this.signal(logMatchSignal(m, at))
  }

  async tick(now: number, signal?: AbortSignal): Promise<void> {
    for (const s of this.presence.check(this.o.presence(), now)) this.signal(s)
    // Inhibition: while an agent is offline its other alerts wait; the one offline message stands for them.
    const offline = this.presence.offlineAgents()
    const due = this.grouper.tick(
      now,
      (g) => offline.size > 0 && this.rules.get(g.rule)?.when !== "agent_offline" && inhibited(g, offline),
    )
    if (due.length > 0 || this.grouper.revision !== this.savedRevision) {
      const revision = this.grouper.revision
      try {
        await this.o.history.transaction(async () => {
          await this.o.store.enqueue(
            due.map((n) => this.delivery(n)),
            now,
          )
          await this.o.history.record(due)
          await this.o.history.saveGroups(this.grouper.open(), now)
        })
      } catch (error) {
        this.grouper.undo(due) // not stored, so not said: the groups speak again on a later tick
        throw error
      }
      this.savedRevision = revision
      for (const n of due) {
        this.o.onMessage?.(n.rule, n.status)
        this.o.logger.info(`alert ${n.status}: ${title(n, this.rules.get(n.rule)?.when)} (${n.reason})`)
      }
    }
    await this.o.worker.runOnce(now, signal)
  }

  private delivery(n: GroupNotification): NewDelivery {
    const rule = this.rules.get(n.rule)
    const targets = rule?.targets.length ? rule.targets : this.o.config.targets.map((t) => t.name)
    const message: AlertMessage = {
      key: messageKey(n),
      title: title(n, rule?.when),
      status: n.status,
      severity: rule?.severity,
      labels: { ...n.groupLabels, alertname: n.rule },
      count: n.count,
      lines: n.lines.map((l) => ({ text: l.text, agent: l.agent, file: l.file, offset: l.offset, at: l.at })),
      startsAt: n.firstAt,
      ...(n.status === "resolved" ? { endsAt: n.at } : {}),
    }
    const link = n.lines[0] && this.o.link?.(n.lines[0])
    if (link) message.link = link
    return { groupKey: n.groupKey, rule: n.rule, message, targets }
  }
}

/** A group whose alerts all come from agents that are offline now. */
function inhibited(g: AlertGroup, offline: ReadonlySet<string>): boolean {
  const agents = [...g.alerts.values()].map((a) => a.labels.agent)
  return agents.length > 0 && agents.every((a) => a !== undefined && offline.has(a))
}

const globs = new Map<string, Bun.Glob>()
const glob = (pattern: string) => {
  let g = globs.get(pattern)
  if (!g) {
    g = new Bun.Glob(pattern)
    globs.set(pattern, g)
  }
  return g
}

/** A rule takes a signal of its kind whose agent, file and agent rule it does not filter out. */
export function ruleMatches(rule: AlertRuleConfig, s: AlertSignal): boolean {
  if (rule.when !== s.rule) return false
  if (rule.agents.length > 0 && !rule.agents.includes(s.labels.agent ?? "")) return false
  if (rule.files.length > 0 && !rule.files.some((p) => glob(p).match(s.labels.file ?? ""))) return false
  if (rule.log_rules.length > 0 && !rule.log_rules.includes(s.labels.rule ?? "")) return false
  return true
}

/** By what raised it: "agent edge-1 offline" / "back"; "12 lines matched 'error' on edge-1"; else how many fire. */
function title(n: GroupNotification, when: AlertRuleConfig["when"] | undefined): string {
  const only = n.alerts.length === 1 ? n.alerts[0] : undefined
  const agent = n.groupLabels.agent ?? only?.labels.agent
  if (when === "agent_offline" && only && agent !== undefined)
    return `${n.rule}: agent ${agent} ${n.status === "resolved" ? "back" : "offline"}`
  if (when === "log_match") {
    const rule = n.groupLabels.rule ?? only?.labels.rule
    const what = `${n.count} line${n.count === 1 ? "" : "s"} matched${rule ? ` '${rule}'` : ""}`
    return `${n.rule}: ${what}${agent ? ` on ${agent}` : ""}`
  }
  if (when === "rejected_envelopes") {
    const reason = n.groupLabels.reason ?? only?.labels.reason
    return `${n.rule}: ${n.count} envelope${n.count === 1 ? "" : "s"} rejected${reason ? ` (${reason})` : ""}`
  }
  const firing = n.alerts.filter((a) => a.status === "firing").length
  return `${n.rule}: ${firing} of ${n.alerts.length} firing`
}
