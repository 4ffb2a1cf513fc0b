import { describe, expect, test } from "bun:test"
import type { UrlOutcome } from "../../../shared/protocol/urls/result.ts"
import { type CheckState, changeDetail, countSite, judgeResult, judgeSite } from "./states.ts"

const OUTCOME: Record<string, UrlOutcome> = { u: "up", g: "degraded", d: "down" }

/** Feeds outcomes ("u" up, "g" degraded, "d" down) and lists the moves as "index:state(consecutive)". */
function moves(sequence: string, failure_threshold = 3, success_threshold = 2): string[] {
  let s: CheckState = {
    agent: "a",
    check: "c",
    url: "u",
    state: "unknown",
    lastStartedAt: 0,
    runOutcome: "up",
    run: 0,
    nonUpRun: 0,
    downInRun: false,
  }
  const out: string[] = []
  ;[...sequence.replaceAll(" ", "")].forEach((ch, i) => {
    const outcome = OUTCOME[ch] ?? "up"
    const { next, moved } = judgeResult(
      s,
      { outcome, started_at: i, url: "u" },
      { failure_threshold, success_threshold },
    )
    if (moved !== undefined) out.push(`${i}:${next.state}(${moved})`)
    s = next
  })
  return out
}

describe("judging one agent's check", () => {
  test.each([
    ["two failures are no change, the third is down", "dd d", ["2:down(3)"]],
    ["one up after down is not enough, the second is", "uu ddd u u", ["1:up(2)", "4:down(3)", "6:up(2)"]],
    ["an up between failures starts the count again", "uu dd u dd u", ["1:up(2)"]],
    ["degraded only: degraded", "uu ggg", ["1:up(2)", "4:degraded(3)"]],
    ["a down among the last three makes it down", "uu gdg", ["1:up(2)", "4:down(3)"]],
    ["so does a down last", "uu ggd", ["1:up(2)", "4:down(3)"]],
    ["degraded to down takes three downs in a row", "ggg dd g ddd", ["2:degraded(3)", "8:down(3)"]],
    ["down to degraded takes three degraded in a row", "ddd gg d ggg", ["2:down(3)", "8:degraded(3)"]],
    ["the first judgement may be up", "u u", ["1:up(2)"]],
    ["a single result is not judged", "d", []],
  ])("%s", (_, sequence, expected) => {
    expect(moves(sequence)).toEqual(expected)
  })

  test("thresholds come from the config", () => {
    expect(moves("d u d", 1, 1)).toEqual(["0:down(1)", "1:up(1)", "2:down(1)"])
    expect(moves("dddd uuu", 4, 3)).toEqual(["3:down(4)", "6:up(3)"])
  })
})

describe("judging a url across agents", () => {
  const member = (agent: string, state: CheckState["state"]) => ({ agent, state }) as CheckState

  test.each([
    ["all down: down", ["down", "down", "down"], 1, "down"],
    ["one of three down: still up", ["down", "up", "up"], 1, "up"],
    ["two down one degraded: degraded", ["down", "down", "degraded"], 1, "degraded"],
    ["two of three down with quorum 0.5: down", ["down", "down", "up"], 0.5, "down"],
    ["three of five with quorum 0.6: down", ["down", "down", "down", "up", "up"], 0.6, "down"],
    ["unknown agents do not count", ["down", "unknown", "unknown"], 1, "down"],
    ["no known agent: unknown", ["unknown"], 1, "unknown"],
  ] as const)("%s", (_, states, quorum, expected) => {
    const count = countSite(states.map((s, i) => member(`a${i}`, s)))
    expect(judgeSite(count, quorum)).toBe(expected)
  })

  test("an agent with two checks of the url counts once, by its worst state", () => {
    expect(countSite([member("a", "up"), member("a", "down"), member("b", "up")])).toEqual({
      known: 2,
      down: 1,
      nonUp: 1,
    })
  })

  test("the detail blames the agent only while the site is up", () => {
    expect(changeDetail("down", { known: 3, down: 1, nonUp: 1 }, "up", "agent")).toBe(
      "down from 1 of 3 agents: that agent's network or host",
    )
    expect(changeDetail("down", { known: 3, down: 3, nonUp: 3 }, "down", "agent")).toBe(
      "down from 3 of 3 agents",
    )
    expect(changeDetail("up", { known: 1, down: 0, nonUp: 0 }, "up", "site")).toBe("up from 1 of 1 agent")
  })
})
