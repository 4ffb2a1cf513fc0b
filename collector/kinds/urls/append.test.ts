import { describe, expect, test } from "bun:test"
import { DuckDBInstance } from "@duckdb/node-api"
import { urlsKind } from "./append.ts"
import { minuteMs, openKindDb, result, rowsOf } from "./test-helpers.ts"

const SITE_UP_1 = "*|site unknown->up (2) up from 1 of 1 agent"

describe("urls kind: rows and state changes in DuckDB", () => {
  test("every column of a result lands in url_checks", async () => {
    await using db = await openKindDb()
    const entry = result(0, "down", { status: 503, cert_expires_at: minuteMs(60 * 24), reason: "status" })
    expect(await db.write(rowsOf("edge-1", [entry]), minuteMs(1))).toBe(1)
    expect(await db.rows("SELECT * FROM url_checks")).toEqual([
      {
        agent: "edge-1",
        host: "edge-1.host",
        check: "home",
        url: "https://example.test/",
        started_at: new Date(minuteMs(0)),
        dns_ms: 1,
        connect_ms: 2,
        tls_ms: null,
        first_byte_ms: 50,
        transfer_ms: 3,
        total_ms: 100,
        status: 503,
        bytes: 512n,
        redirects: 0,
        cert_expires_at: new Date(minuteMs(60 * 24)),
        outcome: "down",
        reason: "status",
        message: "it was timeout",
        entry_id: 1n,
        received_at: new Date(minuteMs(1)),
        judged: true,
      },
    ])
  })

  test("thresholds: 3 failures in a row for down, 2 ups for up again, one batch at a time", async () => {
    await using db = await openKindDb()
    const steps: [number, "up" | "down", string[]][] = [
      [0, "up", []],
      [1, "up", ["a|agent unknown->up (2) up from 1 of 1 agent", SITE_UP_1]],
      [2, "down", []],
      [3, "down", []],
      [
        4,
        "down",
        [
          "a|agent up->down (3 timeout) down from 1 of 1 agent",
          "*|site up->down (3 timeout) down from 1 of 1 agent",
        ],
      ],
      [5, "up", []],
      [6, "up", ["a|agent down->up (2) up from 1 of 1 agent", "*|site down->up (2) up from 1 of 1 agent"]],
    ]
    let expected: string[] = []
    for (const [minute, outcome, added] of steps) {
      await db.write(rowsOf("a", [result(minute, outcome)]))
      expected = [...expected, ...added]
      expect(await db.changes()).toEqual(expected)
    }
  })

  test("degraded results make a degraded state; downs then make it down", async () => {
    await using db = await openKindDb()
    const seq = ["up", "up", "degraded", "degraded", "degraded", "down", "down", "down"] as const
    await db.write(
      rowsOf(
        "a",
        seq.map((o, i) => result(i, o)),
      ),
    )
    expect(await db.changes()).toEqual([
      "a|agent unknown->up (2) up from 1 of 1 agent",
      SITE_UP_1,
      "a|agent up->degraded (3 slow) degraded from 1 of 1 agent",
      "*|site up->degraded (3 slow) degraded from 1 of 1 agent",
      "a|agent degraded->down (3 timeout) down from 1 of 1 agent",
      "*|site degraded->down (3 timeout) down from 1 of 1 agent",
    ])
  })

  test("across agents: one agent down blames its network; all three down is a site outage", async () => {
    await using db = await openKindDb()
    const agents = ["a", "b", "c"]
    await db.write(agents.flatMap((a) => rowsOf(a, [result(0, "up"), result(1, "up")])))
    // One batch, sorted by agent then id as the writer hands it over: judged in started_at order across agents.
    const outage = ["down", "down", "down", "up", "up"] as const
    await db.write(
      agents.flatMap((a) =>
        rowsOf(
          a,
          outage.map((o, i) => result(10 + i, o)),
        ),
      ),
    )
    expect(await db.changes()).toEqual([
      "a|agent unknown->up (2) up from 1 of 1 agent",
      "b|agent unknown->up (2) up from 2 of 2 agents",
      "c|agent unknown->up (2) up from 3 of 3 agents",
      SITE_UP_1,
      "a|agent up->down (3 timeout) down from 1 of 3 agents: that agent's network or host",
      "b|agent up->down (3 timeout) down from 2 of 3 agents: that agent's network or host",
      "c|agent up->down (3 timeout) down from 3 of 3 agents",
      "*|site up->down (3 timeout) down from 3 of 3 agents",
      "a|agent down->up (2) up from 1 of 3 agents",
      "b|agent down->up (2) up from 2 of 3 agents",
      "c|agent down->up (2) up from 3 of 3 agents",
      "*|site down->up (2) up from 1 of 3 agents",
    ])
    expect(
      await db.rows("SELECT count(*) AS n FROM url_state_changes WHERE scope = 'site' AND agent IS NOT NULL"),
    ).toEqual([{ n: 0n }])
  })

  test("site_quorum 0.5: two of three agents down is a site outage", async () => {
    await using db = await openKindDb({ failure_threshold: 3, success_threshold: 2, site_quorum: 0.5 })
    await db.write(["a", "b", "c"].flatMap((a) => rowsOf(a, [result(0, "up"), result(1, "up")])))
    await db.write(
      ["a", "b"].flatMap((a) =>
        rowsOf(
          a,
          [2, 3, 4].map((m) => result(m, "down")),
        ),
      ),
    )
    expect((await db.changes()).slice(4)).toEqual([
      "a|agent up->down (3 timeout) down from 1 of 3 agents: that agent's network or host",
      "b|agent up->down (3 timeout) down from 2 of 3 agents",
      "*|site up->down (3 timeout) down from 2 of 3 agents",
    ])
  })

  test("a check moved to another url counts for the new url only", async () => {
    await using db = await openKindDb()
    await db.write(["a", "b"].flatMap((a) => rowsOf(a, [result(0, "up"), result(1, "up")])))
    await db.write(rowsOf("a", [result(2, "up", { url: "https://new.test/" })]))
    await db.write(
      rowsOf(
        "b",
        [3, 4, 5].map((m) => result(m, "down")),
      ),
    )
    expect((await db.changes()).slice(3)).toEqual([
      "*|site unknown->up (0) up from 1 of 1 agent",
      "b|agent up->down (3 timeout) down from 1 of 1 agent",
      "*|site up->down (3 timeout) down from 1 of 1 agent",
    ])
    expect(
      await db.rows("SELECT url FROM url_state_changes WHERE scope = 'site' ORDER BY changed_at"),
    ).toEqual([
      { url: "https://example.test/" },
      { url: "https://new.test/" },
      { url: "https://example.test/" },
    ])
  })

  test("a late result is stored but does not move the state; disorder within a batch is judged in order", async () => {
    await using db = await openKindDb()
    await db.write(rowsOf("a", [result(10, "up"), result(11, "up")]))
    // Three downs from before minute 11, drained from the agent's outbox after an outage.
    const late = [5, 6, 7].map((m, i) => result(m, "down", { id: 20 + i }))
    await db.write(rowsOf("a", late))
    expect(await db.changes()).toEqual(["a|agent unknown->up (2) up from 1 of 1 agent", SITE_UP_1])
    expect(await db.rows("SELECT count(*) FILTER (judged) AS judged, count(*) AS n FROM url_checks")).toEqual(
      [{ judged: 2n, n: 5n }],
    )
    // Ids in order, start times not: judged by started_at (down, down, down, then the up at minute 12).
    const shuffled = [result(14, "down"), result(12, "up"), result(15, "down"), result(16, "down")]
    await db.write(
      rowsOf(
        "a",
        shuffled.map((r, i) => ({ ...r, id: 30 + i })),
      ),
    )
    expect((await db.changes()).slice(2)).toEqual([
      "a|agent up->down (3 timeout) down from 1 of 1 agent",
      "*|site up->down (3 timeout) down from 1 of 1 agent",
    ])
    expect(await db.rows("SELECT count(*) AS n FROM url_checks WHERE NOT judged")).toEqual([{ n: 3n }])
  })

  test("a rolled back batch leaves the state as it was", async () => {
    await using db = await openKindDb()
    const downs = rowsOf(
      "a",
      [0, 1, 2].map((m) => result(m, "down")),
    )
    await db.writeRolledBack(downs)
    expect(await db.rows("SELECT count(*) AS n FROM url_checks")).toEqual([{ n: 0n }])
    await db.write(downs)
    expect(await db.changes()).toEqual([
      "a|agent unknown->down (3 timeout) down from 1 of 1 agent",
      "*|site unknown->down (3 timeout) down from 1 of 1 agent",
    ])
    expect(await db.rows("SELECT count(*) FILTER (judged) AS n FROM url_checks")).toEqual([{ n: 3n }])
  })

  test("after a restart the state goes on: no 'unknown ->' changes, runs keep counting", async () => {
    await using db = await openKindDb()
    await db.write(
      ["a", "b"].flatMap((a) =>
        rowsOf(a, [result(0, "up"), result(1, "up"), result(2, "down"), result(3, "down")]),
      ),
    )
    const before = await db.changes()
    await db.reopen()
    await db.write(rowsOf("a", [result(4, "down")]))
    await db.write(rowsOf("b", [result(4, "up"), result(1, "down", { id: 99 })]))
    expect((await db.changes()).slice(before.length)).toEqual([
      "a|agent up->down (3 timeout) down from 1 of 2 agents: that agent's network or host",
    ])
    await db.reopen()
    await db.write(
      rowsOf(
        "b",
        [2, 3, 4].map((m) => result(10 + m, "down")),
      ),
    )
    expect((await db.changes()).slice(before.length + 1)).toEqual([
      "b|agent up->down (3 timeout) down from 2 of 2 agents",
      "*|site up->down (3 timeout) down from 2 of 2 agents",
    ])
    expect(await db.rows("SELECT agent, run, non_up_run, state FROM url_check_state ORDER BY agent")).toEqual(
      [
        { agent: "a", run: 3, non_up_run: 3, state: "down" },
        { agent: "b", run: 3, non_up_run: 3, state: "down" },
      ],
    )
  })

  test("one module serves several databases, each with its own state; append needs load first", async () => {
    const downs = rowsOf(
      "a",
      [0, 1, 2].map((m) => result(m, "down")),
    )
    for (let n = 0; n < 2; n++) {
      const instance = await DuckDBInstance.create(":memory:")
      const conn = await instance.connect()
      await conn.run(urlsKind.schemaSql)
      await expect(urlsKind.append(conn, downs, 0)).rejects.toThrow("load()")
      await urlsKind.load(conn)
      await conn.run("BEGIN TRANSACTION")
      const done = await urlsKind.append(conn, downs, 0)
      await conn.run("COMMIT")
      done.commit()
      const changes = await conn.runAndReadAll("SELECT from_state, to_state FROM url_state_changes")
      expect(changes.getRows()).toEqual([
        ["unknown", "down"],
        ["unknown", "down"],
      ])
      conn.closeSync()
      instance.closeSync()
    }
    expect(urlsKind.check(result(0, "up"))).toBeUndefined()
  })
})
