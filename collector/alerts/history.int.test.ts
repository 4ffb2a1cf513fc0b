import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { tempDir } from "../../test/harness/index.ts"
import { match, S, startTestEngine, T0 } from "./engine-fixture.ts"
import { logMatchSignal } from "./log-matches.ts"
import { fakeChat } from "./targets/test-fixture.ts"

const startEngine = (path: string, hookUrl: string) =>
  startTestEngine({
    path,
    hookUrl,
    alerts: {
      group_wait_s: 5,
      group_interval_s: 30,
      rules: [{ name: "errors", when: "log_match", group_by: ["agent"] }],
    },
  })

type Body = { status: string; commonLabels: Record<string, string>; outpost: { key: string; count: number } }

describe("alert history and open groups in DuckDB", () => {
  test("a restart goes on with the open groups: the next message is the group's second, not a new first", async () => {
    await using dir = tempDir()
    await using hook = fakeChat("/hook")
    const path = join(dir.path, "alerts.duckdb")
    const sent = () => hook.seen.map((r) => JSON.parse(r.body) as Body)

    const first = await startEngine(path, hook.url)
    expect(first.restored).toBe(0)
    for (let n = 0; n < 3; n++) first.engine.signal(logMatchSignal(match(n), T0))
    first.engine.signal(logMatchSignal(match(0, "edge-2"), T0))
    for (let t = 0; t <= 6; t++) await first.engine.tick(T0 + t * S)
    expect(sent().map((b) => `${b.commonLabels.agent} ${b.outpost.count}`)).toEqual(["edge-1 3", "edge-2 1"])
    // two more lines on edge-1 arrive; the collector stops before the group may speak again
    for (let n = 3; n < 5; n++) first.engine.signal(logMatchSignal(match(n), T0 + 10 * S))
    await first.engine.tick(T0 + 10 * S)
    first.close()

    const second = await startEngine(path, hook.url)
    expect(second.restored).toBe(2)
    for (let t = 11; t <= 40; t++) await second.engine.tick(T0 + t * S)
    const bodies = sent()
    expect(bodies.map((b) => `${b.commonLabels.agent} ${b.outpost.count}`)).toEqual([
      "edge-1 3",
      "edge-2 1",
      "edge-1 5", // the same episode, its count carried over the restart
    ])
    expect(new Set(bodies.map((b) => b.outpost.key)).size).toBe(3)

    // every alert is a row: its rule, labels, first and last seen, count, messages and first matched line
    const alerts = await second.rows(
      `SELECT rule, labels->>'agent' AS agent, status, count, messages, line_agent, line_file, line_offset,
         epoch_ms(first_at) AS first_ms, epoch_ms(last_at) AS last_ms
       FROM alerts ORDER BY agent`,
    )
    expect(alerts).toEqual([
      {
        rule: "errors",
        agent: "edge-1",
        status: "firing",
        count: "5",
        messages: 2,
        line_agent: "edge-1",
        line_file: "/var/log/app.log",
        line_offset: "0",
        first_ms: String(T0),
        last_ms: String(T0 + 10 * S),
      },
      {
        rule: "errors",
        agent: "edge-2",
        status: "firing",
        count: "1",
        messages: 1,
        line_agent: "edge-2",
        line_file: "/var/log/app.log",
        line_offset: "0",
        first_ms: String(T0),
        last_ms: String(T0),
      },
    ])
    // both groups went quiet for a group_interval after their last message: nothing is left open
    await second.engine.tick(T0 + 80 * S)
    expect(await second.rows("SELECT count(*)::INTEGER AS n FROM alert_groups")).toEqual([{ n: 0 }])
    second.close()
  })

  test("a group whose message could not be stored stays open and speaks on the next tick", async () => {
    await using dir = tempDir()
    await using hook = fakeChat("/hook")
    const e = await startEngine(join(dir.path, "alerts.duckdb"), hook.url)
    e.engine.signal(logMatchSignal(match(1), T0))
    await e.rows("ALTER TABLE alert_groups RENAME TO alert_groups_away") // the save fails inside the transaction
    await expect(e.engine.tick(T0 + 6 * S)).rejects.toThrow()
    expect(await e.rows("SELECT count(*)::INTEGER AS n FROM alert_deliveries")).toEqual([{ n: 0 }])
    expect(await e.rows("SELECT count(*)::INTEGER AS n FROM alerts")).toEqual([{ n: 0 }])
    expect(hook.seen).toEqual([])
    e.engine.signal(logMatchSignal(match(2), T0 + 7 * S)) // arrives while storage is failing
    await e.rows("ALTER TABLE alert_groups_away RENAME TO alert_groups")
    await e.engine.tick(T0 + 8 * S)
    const bodies = hook.seen.map((r) => JSON.parse(r.body) as Body)
    expect(bodies.map((b) => b.outpost.count)).toEqual([2]) // one first message, both lines in it
    expect(await e.rows("SELECT count, messages FROM alerts")).toEqual([{ count: "2", messages: 1 }])
    e.close()
  })
})
