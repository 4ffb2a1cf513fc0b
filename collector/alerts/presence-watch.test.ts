import { describe, expect, test } from "bun:test"
import type { AgentPresence } from "../kinds/heartbeats/index.ts"
import { PresenceWatch } from "./presence-watch.ts"

const S = 1000
const presence = (lastReceivedAt: number, intervalS = 10): AgentPresence => ({
  host: "h1",
  entryId: 1,
  lastSentAt: lastReceivedAt,
  lastReceivedAt,
  version: "0.1.0",
  startedAt: 0,
  intervalS,
  previewUrl: null,
})
const statuses = (w: PresenceWatch, m: Map<string, AgentPresence>, at: number) =>
  w.check(m, at).map((s) => `${s.labels.agent} ${s.status}`)

describe("PresenceWatch", () => {
  test("silent past the limit: one offline signal, nothing while it stays silent, one back at its next heartbeat", () => {
    const w = new PresenceWatch({ offlineAfterMs: 60 * S, startedAt: 0 })
    const m = new Map([["edge-1", presence(100 * S)]])
    expect(statuses(w, m, 160 * S)).toEqual([])
    expect(statuses(w, m, 161 * S)).toEqual(["edge-1 firing"])
    expect(statuses(w, m, 500 * S)).toEqual([])
    m.set("edge-1", presence(501 * S))
    expect(statuses(w, m, 502 * S)).toEqual(["edge-1 resolved"])
    expect(statuses(w, m, 503 * S)).toEqual([])
    expect(w.offlineAgents().size).toBe(0)
  })

  test("a collector that just started judges nobody from before its start: no false offline burst", () => {
    const startedAt = 10_000 * S // down for hours; every agent's last heartbeat is old
    const w = new PresenceWatch({ offlineAfterMs: 60 * S, startedAt })
    const m = new Map([
      ["edge-1", presence(100 * S)],
      ["edge-2", presence(200 * S)],
    ])
    expect(statuses(w, m, startedAt + 30 * S)).toEqual([])
    m.set("edge-1", presence(startedAt + 40 * S)) // heard again after the restart
    expect(statuses(w, m, startedAt + 61 * S)).toEqual(["edge-2 firing"]) // edge-2 really is silent
  })

  test("an agent with a long interval gets three of its intervals before it is offline", () => {
    const w = new PresenceWatch({ offlineAfterMs: 60 * S, startedAt: 0 })
    const m = new Map([["slow", presence(0, 120)]])
    expect(statuses(w, m, 300 * S)).toEqual([])
    expect(statuses(w, m, 361 * S)).toEqual(["slow firing"])
  })
})
