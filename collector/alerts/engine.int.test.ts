import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { tempDir } from "../../test/harness/index.ts"
import type { RejectedEnvelope } from "../sinks/duckdb/types.ts"
import { heard, match, S, startTestEngine, T0 } from "./engine-fixture.ts"
import { logMatchSignal } from "./log-matches.ts"
import { fakeChat } from "./targets/test-fixture.ts"

type Body = { status: string; commonLabels: Record<string, string>; outpost: { count: number } }

describe("AlertEngine (real DuckDB, a webhook played by a local server)", () => {
  test("inhibition: while an agent is offline its log alerts wait; one offline message, then back, then the held lines", async () => {
    await using dir = tempDir()
    await using hook = fakeChat("/hook")
    const presence = new Map([["edge-1", heard(T0)]])
    const { engine, close } = await startTestEngine({
      path: join(dir.path, "a.duckdb"),
      hookUrl: hook.url,
      alerts: { group_wait_s: 0, group_interval_s: 10, agent_offline_after_s: 5 },
      presence: () => presence,
    })
    const sent = () =>
      hook.seen
        .map((r) => JSON.parse(r.body) as Body)
        .map((b) => `${b.commonLabels.alertname} ${b.status} ${b.outpost.count}`)
    await engine.tick(T0 + 6 * S) // silent for 6 s: offline
    // its last lines arrive late (they were in the stream): held back while it is offline
    for (let n = 0; n < 3; n++) engine.signal(logMatchSignal(match(n), T0 + 6 * S))
    for (let t = 7; t <= 20; t++) await engine.tick(T0 + t * S)
    expect(sent()).toEqual(["agent_offline firing 1"])
    for (let t = 21; t <= 40; t++) {
      presence.set("edge-1", heard(T0 + t * S)) // back: beating again
      await engine.tick(T0 + t * S)
    }
    expect(sent()).toEqual(["agent_offline firing 1", "agent_offline resolved 1", "log_match firing 3"])
    close()
  })

  test("a burst of forged envelopes is one message per reason, counted; posing as an offline agent does not hide it", async () => {
    await using dir = tempDir()
    await using hook = fakeChat("/hook")
    const { engine, rows, close } = await startTestEngine({
      path: join(dir.path, "a.duckdb"),
      hookUrl: hook.url,
      alerts: { group_wait_s: 10, group_interval_s: 60, agent_offline_after_s: 5 },
      presence: () => new Map([["edge-1", heard(T0)]]),
    })
    const forged = (reason: "signature" | "unknown_agent", agent?: string): RejectedEnvelope => ({
      reason,
      message: "x",
      subject: `outpost.logs.${agent ?? "nobody"}`,
      headers: {},
      size: 100,
      ...(agent ? { agent } : {}),
    })
    await engine.tick(T0 + 6 * S) // edge-1 is silent: offline
    for (let t = 6; t < 9; t++) {
      engine.rejected(
        Array.from({ length: 100 }, () => forged("signature", "edge-1")),
        T0 + t * S,
      )
      engine.rejected([forged("unknown_agent", "intruder")], T0 + t * S)
      await engine.tick(T0 + t * S)
    }
    for (let t = 9; t <= 20; t++) await engine.tick(T0 + t * S)
    const titles = hook.seen
      .map((r) => JSON.parse(r.body) as Body)
      .map((b) => `${b.commonLabels.alertname} ${b.commonLabels.reason ?? ""} ${b.outpost.count}`)
    expect(titles.sort()).toEqual([
      "agent_offline  1",
      "rejected_envelopes signature 300",
      "rejected_envelopes unknown_agent 3",
    ])
    expect(
      await rows(
        "SELECT labels->>'claimed_agent' AS agent, count FROM alerts WHERE rule = 'rejected_envelopes' ORDER BY 1",
      ),
    ).toEqual([
      { agent: "edge-1", count: "300" },
      { agent: "intruder", count: "3" },
    ])
    close()
  })
})
