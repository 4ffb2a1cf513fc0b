import { createHash } from "node:crypto"
import type { AlertLine, AlertSignal, AlertSummary, GroupNotification, GroupTiming } from "./types.ts"

/** How a rule's alerts are grouped and when its groups speak. */
export type GroupPolicy = { groupBy: readonly string[]; timing: GroupTiming }

export type AlertGrouperOptions = {
  policy(rule: string): GroupPolicy
  /** matched lines a group keeps for its messages (default 5) */
  maxLines?: number
}

/** A group between its first alert and its end, as kept in memory and saved to DuckDB. */
export type AlertGroup = {
  key: string
  rule: string
  groupLabels: Record<string, string>
  kind: AlertSignal["kind"]
  openedAt: number
  alerts: Map<string, AlertSummary>
  lines: AlertLine[]
  count: number
  countAtLastMessage: number
  changed: boolean
  seq: number
  lastMessageAt: number | null
}

/** Stable id of an alert: its rule and labels, whatever their order. */
export function fingerprint(rule: string, labels: Record<string, string>): string {
  const canonical = JSON.stringify([rule, Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))])
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16)
}

/** `rule{a="x",b="y"}` over the group_by labels (missing ones empty): one group per distinct value set. */
export function groupKeyOf(rule: string, groupLabels: Record<string, string>): string {
  const inner = Object.entries(groupLabels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(",")
  return `${rule}{${inner}}`
}

/**
 * Alertmanager's grouping, for Outpost's two kinds of alert. A group's first message waits group_wait (what
 * arrives meanwhile is in it; a state alert resolved by then is never sent); after that it speaks at most every
 * group_interval, and only if it changed; a state group still firing and unchanged is repeated every
 * repeat_interval; one whose alerts all resolved sends a resolved message and ends. An event group (log matches)
 * ends once quiet for a group_interval after its last message: the next match opens a new group.
 * Time comes from the caller, so restarts and tests need no clock.
 */
export class AlertGrouper {
  private readonly groups = new Map<string, AlertGroup>()
  private readonly maxLines: number
  /** moves whenever what the groups hold changes: the engine saves them when it moved */
  revision = 0

  constructor(private readonly options: AlertGrouperOptions) {
    this.maxLines = options.maxLines ?? 5
  }

  /** Adds a signal; a resolved signal of an alert the group does not hold is ignored. */
  add(signal: AlertSignal): void {
    this.revision++
    const { groupBy } = this.options.policy(signal.rule)
    const groupLabels = Object.fromEntries(groupBy.map((l) => [l, signal.labels[l] ?? ""]))
    const key = groupKeyOf(signal.rule, groupLabels)
    const fp = fingerprint(signal.rule, signal.labels)
    let group = this.groups.get(key)
    if (!group) {
      if (signal.status === "resolved") return
      group = {
        key,
        rule: signal.rule,
        groupLabels,
        kind: signal.kind,
        openedAt: signal.at,
        alerts: new Map(),
        lines: [],
        count: 0,
        countAtLastMessage: 0,
        changed: false,
        seq: 0,
        lastMessageAt: null,
      }
      this.groups.set(key, group)
    }
    const alert = group.alerts.get(fp)
    if (signal.kind === "event") {
      const n = signal.count ?? 1
      group.count += n
      if (alert) {
        alert.count += n
        alert.lastAt = Math.max(alert.lastAt, signal.at)
      } else group.alerts.set(fp, this.newAlert(fp, signal, n))
      if (signal.line && group.lines.length < this.maxLines) group.lines.push(signal.line)
      group.changed = true
      return
    }
    if (!alert) {
      if (signal.status === "resolved") return
      group.alerts.set(fp, this.newAlert(fp, signal, 1))
      group.count += 1
      group.changed = true
      return
    }
    alert.lastAt = Math.max(alert.lastAt, signal.at)
    if (alert.status === signal.status) return
    alert.status = signal.status
    if (signal.status === "firing") group.count += 1
    group.changed = true
  }

  /**
   * The messages due at `now`, in group order; each advances its group (the caller stores them at once). A group
   * `held` says nothing and keeps what it holds (inhibition): it speaks once it is no longer held.
   */
  tick(now: number, held?: (group: AlertGroup) => boolean): GroupNotification[] {
    const out: GroupNotification[] = []
    for (const group of [...this.groups.values()]) {
      if (held?.(group)) continue
      const message = this.due(group, now)
      if (message) out.push(message)
    }
    return out
  }

  /** When the next tick may have something to do; undefined when no group is open. */
  nextDueAt(): number | undefined {
    let next: number | undefined
    for (const g of this.groups.values()) {
      const { timing } = this.options.policy(g.rule)
      const at =
        g.lastMessageAt === null
          ? g.openedAt + timing.groupWaitMs
          : g.lastMessageAt +
            (g.changed || g.kind === "event" ? timing.groupIntervalMs : timing.repeatIntervalMs)
      next = next === undefined ? at : Math.min(next, at)
    }
    return next
  }

  /** Open groups (for /status and to be saved across restarts). */
  open(): readonly AlertGroup[] {
    return [...this.groups.values()]
  }

  /** Takes groups saved before a restart back; their timers go on from the times they carry. */
  restore(groups: readonly AlertGroup[]): void {
    for (const g of groups) this.groups.set(g.key, g)
    this.revision++
  }

  private newAlert(fp: string, s: AlertSignal, count: number): AlertSummary {
    return {
      fingerprint: fp,
      labels: s.labels,
      status: s.status,
      firstAt: s.at,
      lastAt: s.at,
      count,
      ...(s.line ? { line: s.line } : {}),
    }
  }

  private due(g: AlertGroup, now: number): GroupNotification | undefined {
    const { timing } = this.options.policy(g.rule)
    const firing = [...g.alerts.values()].some((a) => a.status === "firing")
    if (g.lastMessageAt === null) {
      if (now < g.openedAt + timing.groupWaitMs) return undefined
      if (!firing) {
        this.groups.delete(g.key) // resolved within group_wait: never sent
        this.revision++
        return undefined
      }
      return this.message(g, now, "first")
    }
    if (g.changed) {
      if (now < g.lastMessageAt + timing.groupIntervalMs) return undefined
      return this.message(g, now, firing ? "changed" : "resolved")
    }
    if (g.kind === "event") {
      if (now >= g.lastMessageAt + timing.groupIntervalMs) {
        this.groups.delete(g.key) // quiet: the episode ends
        this.revision++
      }
      return undefined
    }
    if (firing && now >= g.lastMessageAt + timing.repeatIntervalMs) return this.message(g, now, "repeat")
    return undefined
  }

  /**
   * Takes back what `tick` did for messages that could not be stored: each group is as before its message (and
   * open again if the message ended it), keeping what arrived since. They speak again on a later tick.
   */
  undo(messages: readonly GroupNotification[]): void {
    for (const n of messages) {
      const before = this.before.get(n)
      if (!before) continue
      let g = this.groups.get(n.groupKey)
      if (!g) {
        g = before.group
        this.groups.set(g.key, g)
      }
      g.seq = before.seq
      g.countAtLastMessage = before.countAtLastMessage
      g.lastMessageAt = before.lastMessageAt
      g.changed = true
      for (const [fp, a] of before.removed) if (!g.alerts.has(fp)) g.alerts.set(fp, a)
    }
    this.revision++
  }

  /** what a message changed in its group, for undo */
  private readonly before = new WeakMap<
    GroupNotification,
    {
      group: AlertGroup
      seq: number
      countAtLastMessage: number
      lastMessageAt: number | null
      removed: [string, AlertSummary][]
    }
  >()

  private message(g: AlertGroup, now: number, reason: GroupNotification["reason"]): GroupNotification {
    this.revision++
    const undo = {
      group: g,
      seq: g.seq,
      countAtLastMessage: g.countAtLastMessage,
      lastMessageAt: g.lastMessageAt,
      removed: [] as [string, AlertSummary][],
    }
    g.seq += 1
    const alerts = [...g.alerts.values()].map((a) => ({ ...a, labels: { ...a.labels } }))
    const message: GroupNotification = {
      groupKey: g.key,
      rule: g.rule,
      groupLabels: g.groupLabels,
      openedAt: g.openedAt,
      seq: g.seq,
      status: reason === "resolved" ? "resolved" : "firing",
      reason,
      alerts,
      count: g.count,
      newCount: g.count - g.countAtLastMessage,
      lines: [...g.lines],
      firstAt: Math.min(...alerts.map((a) => a.firstAt)),
      lastAt: Math.max(...alerts.map((a) => a.lastAt)),
      at: now,
    }
    g.countAtLastMessage = g.count
    g.changed = false
    g.lastMessageAt = now
    // a resolved alert is said once, then leaves the group; a group with none firing ends with its message
    for (const [fp, a] of g.alerts) {
      if (a.status !== "resolved") continue
      g.alerts.delete(fp)
      undo.removed.push([fp, a])
    }
    if (g.alerts.size === 0) this.groups.delete(g.key)
    this.before.set(message, undo)
    return message
  }
}

/** The idempotency key of a message (DingTalk's msgUuid): the group, its episode and the message's number. */
export function messageKey(n: Pick<GroupNotification, "groupKey" | "openedAt" | "seq">): string {
  return createHash("sha256").update(`${n.groupKey}\0${n.openedAt}\0${n.seq}`).digest("hex").slice(0, 32)
}
