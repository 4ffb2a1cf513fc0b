import { describe, expect, test } from "bun:test"
import { AlertGrouper, fingerprint, groupKeyOf, messageKey } from "./grouper.ts"
import type { AlertSignal, GroupNotification } from "./types.ts"

const S = 1000
const M = 60 * S
const timing = { groupWaitMs: 30 * S, groupIntervalMs: 5 * M, repeatIntervalMs: 4 * 60 * M }
const grouper = () => new AlertGrouper({ policy: () => ({ groupBy: ["agent", "rule"], timing }) })

const match = (at: number, agent = "edge-1", n = 0): AlertSignal => ({
  rule: "errors",
  labels: { agent, rule: "errors", file: "/var/log/app.log" },
  kind: "event",
  status: "firing",
  at,
  line: { text: `ERROR ${n}`, agent, file: "/var/log/app.log", gen: "g1", offset: n * 10, at },
})
const offline = (at: number, status: "firing" | "resolved", agent = "edge-1"): AlertSignal => ({
  rule: "agent_offline",
  labels: { agent },
  kind: "state",
  status,
  at,
})

/** Ticks every second from `from` to `to`, collecting messages. */
function run(g: AlertGrouper, from: number, to: number, each?: (t: number) => void): GroupNotification[] {
  const out: GroupNotification[] = []
  for (let t = from; t <= to; t += S) {
    each?.(t)
    out.push(...g.tick(t))
  }
  return out
}

describe("AlertGrouper: log matches (event alerts)", () => {
  test("one matched line: one message, after group_wait, with the line and a count of 1", () => {
    const g = grouper()
    g.add(match(0))
    expect(g.tick(29 * S)).toEqual([])
    expect(g.nextDueAt()).toBe(30 * S)
    const [m, ...rest] = g.tick(30 * S)
    expect(rest).toEqual([])
    expect(m).toMatchObject({ seq: 1, reason: "first", status: "firing", count: 1, newCount: 1 })
    expect(m?.lines.map((l) => l.text)).toEqual(["ERROR 0"])
    expect(m?.groupKey).toBe('errors{agent="edge-1",rule="errors"}')
    // quiet for a group_interval: the episode ends without another message
    expect(run(g, 31 * S, 30 * S + 5 * M)).toEqual([])
    expect(g.open()).toEqual([])
  })

  test("1,000 matches over 10 minutes: a first message, then one per group_interval; counts add up", () => {
    const g = grouper()
    let n = 0
    const messages = run(g, 0, 20 * M, (t) => {
      if (t < 500 * S) for (let i = 0; i < 2; i++) g.add(match(t, "edge-1", n++))
    })
    expect(n).toBe(1000)
    expect(messages.map((m) => [m.at, m.reason])).toEqual([
      [30 * S, "first"],
      [30 * S + 5 * M, "changed"],
      [30 * S + 10 * M, "changed"],
    ])
    expect(messages.reduce((sum, m) => sum + m.newCount, 0)).toBe(1000)
    expect(messages.at(-1)?.count).toBe(1000)
    expect(messages[0]?.lines).toHaveLength(5) // the first few, not 1,000
  })

  test("group_by: each agent is its own group; the labels of a group are its group_by values", () => {
    const g = grouper()
    g.add(match(0, "edge-1"))
    g.add(match(1 * S, "edge-2"))
    g.add(match(2 * S, "edge-1"))
    const messages = run(g, 0, 40 * S)
    expect(messages.map((m) => [m.groupLabels, m.count])).toEqual([
      [{ agent: "edge-1", rule: "errors" }, 2],
      [{ agent: "edge-2", rule: "errors" }, 1],
    ])
  })

  test("a match after the episode ended opens a new one: same group key, a different message key", () => {
    const g = grouper()
    g.add(match(0))
    const first = run(g, 0, 6 * M)
    g.add(match(10 * M))
    const second = run(g, 10 * M, 11 * M)
    expect(first).toHaveLength(1)
    expect(second).toHaveLength(1)
    expect(second[0]?.seq).toBe(1)
    expect(second[0]?.groupKey).toBe(first[0]?.groupKey as string)
    expect(messageKey(second[0] as GroupNotification)).not.toBe(messageKey(first[0] as GroupNotification))
  })
})

describe("AlertGrouper: agent offline (state alerts)", () => {
  test("offline and back within group_wait: nothing is sent", () => {
    const g = grouper()
    g.add(offline(0, "firing"))
    g.add(offline(10 * S, "resolved"))
    expect(run(g, 0, 10 * M)).toEqual([])
    expect(g.open()).toEqual([])
  })

  test("offline: one message, reminders every repeat_interval, one resolved message when back, then the group ends", () => {
    const g = grouper()
    g.add(offline(0, "firing"))
    const firing = run(g, 0, 9 * 60 * M)
    expect(firing.map((m) => [m.at, m.reason])).toEqual([
      [30 * S, "first"],
      [30 * S + 4 * 60 * M, "repeat"],
      [30 * S + 8 * 60 * M, "repeat"],
    ])
    g.add(offline(9 * 60 * M + S, "resolved"))
    const back = run(g, 9 * 60 * M + S, 10 * 60 * M)
    // a group_interval has passed since the last message: the resolved one goes at once
    expect(back.map((m) => [m.at, m.reason, m.status])).toEqual([[9 * 60 * M + S, "resolved", "resolved"]])
    expect(g.open()).toEqual([])
  })

  test("a resolved signal of an alert never raised is ignored; flapping within one interval is one change", () => {
    const g = grouper()
    g.add(offline(0, "resolved"))
    expect(g.open()).toEqual([])
    g.add(offline(0, "firing"))
    run(g, 0, 30 * S)
    g.add(offline(40 * S, "resolved"))
    g.add(offline(50 * S, "firing"))
    const messages = run(g, 31 * S, 30 * S + 5 * M)
    expect(messages.map((m) => [m.reason, m.status, m.alerts.map((a) => a.status)])).toEqual([
      ["changed", "firing", ["firing"]],
    ])
  })

  test("two agents offline in one group (group_by rule only): the message lists both; one back leaves the other", () => {
    const g = new AlertGrouper({ policy: () => ({ groupBy: [], timing }) })
    g.add(offline(0, "firing", "edge-1"))
    g.add(offline(S, "firing", "edge-2"))
    const [first] = run(g, 0, 30 * S)
    expect(first?.alerts.map((a) => a.labels.agent)).toEqual(["edge-1", "edge-2"])
    g.add(offline(M, "resolved", "edge-1"))
    const [change] = run(g, M, 30 * S + 5 * M)
    expect(change?.alerts.map((a) => [a.labels.agent, a.status])).toEqual([
      ["edge-1", "resolved"],
      ["edge-2", "firing"],
    ])
    expect(g.open()[0]?.alerts.size).toBe(1) // the resolved one was said once and left
  })
})

describe("keys", () => {
  test("fingerprint ignores label order; group keys quote values", () => {
    expect(fingerprint("r", { a: "1", b: "2" })).toBe(fingerprint("r", { b: "2", a: "1" }))
    expect(fingerprint("r", { a: "1" })).not.toBe(fingerprint("s", { a: "1" }))
    expect(groupKeyOf("r", { agent: 'a"b' })).toBe('r{agent="a\\"b"}')
  })
})
