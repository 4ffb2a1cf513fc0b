import { describe, expect, test } from "bun:test"
import { DuckDBInstance } from "@duckdb/node-api"
import type { EntryKindModule } from "../kind.ts"
import { createHeartbeatsKind, heartbeatsKind } from "./append.ts"
import { envelope, heartbeat, openHeartbeatsDb, T0 } from "./test-helpers.ts"

const s = (seconds: number) => T0 + seconds * 1000

describe("heartbeats kind: history and presence in DuckDB, through the writer", () => {
  test("every column of a heartbeat lands in agent_heartbeats, the whole entry in body", async () => {
    await using db = await openHeartbeatsDb()
    const entry = heartbeat(1)
    expect(await db.write([envelope("edge-1", [entry])], s(11))).toEqual({ heartbeats: 1 })
    const rows = await db.rows(`
      SELECT * EXCLUDE (sent_at, received_at, started_at, last_publish_at, body), epoch_ms(sent_at) AS sent_at,
        epoch_ms(received_at) AS received_at, epoch_ms(started_at) AS started_at,
        epoch_ms(last_publish_at) AS last_publish_at, body::VARCHAR AS body
      FROM agent_heartbeats`)
    expect(rows).toEqual([
      {
        agent: "edge-1",
        host: "edge-1.host",
        entry_id: 1,
        version: "0.1.0",
        uptime_s: 70,
        interval_s: 10,
        files: 3,
        behind_bytes: 120,
        outbox_entries: 5,
        outbox_dropped: 7,
        nats_connected: true,
        last_publish_error: null,
        sent_at: s(10),
        received_at: s(11),
        started_at: s(-60),
        last_publish_at: s(10) - 500,
        body: JSON.stringify(entry),
      },
    ])
    const json = await db.rows(`SELECT body->>'$.sources[0].name' AS name, body->'$.urls.checks' AS checks
      FROM agent_heartbeats`)
    expect(json).toEqual([{ name: "web", checks: "3" }])
  })

  test("the optional parts: no outbox, no publish yet, an error, no sources", async () => {
    await using db = await openHeartbeatsDb()
    const entry = heartbeat(1, {
      sources: [],
      urls: null,
      outbox: null,
      nats: { connected: false, server: null },
      last_publish_at: null,
      last_publish_error: "publish timed out after 5000 ms",
    })
    await db.write([envelope("edge-1", [entry])])
    expect(
      await db.rows(`SELECT files, behind_bytes, outbox_entries, outbox_dropped, nats_connected, last_publish_at,
        last_publish_error FROM agent_heartbeats`),
    ).toEqual([
      {
        files: 0,
        behind_bytes: 0,
        outbox_entries: null,
        outbox_dropped: null,
        nats_connected: false,
        last_publish_at: null,
        last_publish_error: "publish timed out after 5000 ms",
      },
    ])
  })

  test("presence: inserted on an agent's first heartbeat, moved by each newer one, per agent", async () => {
    await using db = await openHeartbeatsDb()
    await db.write([envelope("a", [heartbeat(1)]), envelope("b", [heartbeat(1)])], s(11))
    await db.write([envelope("a", [heartbeat(2, { preview_url: "https://a.internal:4406" })])], s(21))
    const expected = ["a a.host #2 sent=20 received=21", "b b.host #1 sent=10 received=11"]
    expect(await db.presenceRows()).toEqual(expected)
    expect(db.presence()).toEqual(expected)
    const a = db.kind.presence().get("a")
    expect(a).toEqual({
      host: "a.host",
      entryId: 2,
      lastSentAt: s(20),
      lastReceivedAt: s(21),
      version: "0.1.0",
      startedAt: s(-60),
      intervalS: 10,
      previewUrl: "https://a.internal:4406",
    })
    expect(
      await db.rows(
        "SELECT version, epoch_ms(started_at) AS started, interval_s, preview_url FROM agent_presence ORDER BY agent",
      ),
    ).toEqual([
      { version: "0.1.0", started: s(-60), interval_s: 10, preview_url: "https://a.internal:4406" },
      { version: "0.1.0", started: s(-60), interval_s: 10, preview_url: null },
    ])
  })

  test("several heartbeats of one agent in one batch (one envelope, or two): history keeps all, presence the newest", async () => {
    await using db = await openHeartbeatsDb()
    await db.write([envelope("a", [heartbeat(1), heartbeat(2), heartbeat(3)])], s(31))
    await db.write([envelope("a", [heartbeat(4)]), envelope("a", [heartbeat(5), heartbeat(6)])], s(61))
    expect(await db.rows("SELECT count(*) AS n FROM agent_heartbeats")).toEqual([{ n: 6 }])
    expect(await db.presenceRows()).toEqual(["a a.host #6 sent=60 received=61"])
    expect(db.presence()).toEqual(["a a.host #6 sent=60 received=61"])
  })

  test("an older heartbeat arriving after a newer one is history only: presence stays on the newest", async () => {
    await using db = await openHeartbeatsDb()
    await db.write([envelope("a", [heartbeat(5)])], s(51))
    // Drained late from another path (redelivery after a collector crash, an outbox drained out of order).
    await db.write([envelope("a", [heartbeat(3)])], s(90))
    // In one batch, the older envelope handed over last: the writer sorts by id, the newest still wins.
    await db.write([envelope("b", [heartbeat(9)]), envelope("b", [heartbeat(8)])], s(91))
    expect(await db.presenceRows()).toEqual([
      "a a.host #5 sent=50 received=51",
      "b b.host #9 sent=90 received=91",
    ])
    expect(db.presence()).toEqual(await db.presenceRows())
    expect(await db.rows("SELECT agent, entry_id FROM agent_heartbeats ORDER BY agent, entry_id")).toEqual([
      { agent: "a", entry_id: 3 },
      { agent: "a", entry_id: 5 },
      { agent: "b", entry_id: 8 },
      { agent: "b", entry_id: 9 },
    ])
  })

  test("newest is by entry id, not sent_at: an agent whose clock was set back still moves its presence", async () => {
    await using db = await openHeartbeatsDb()
    await db.write([envelope("a", [heartbeat(5)])], s(51))
    await db.write([envelope("a", [heartbeat(6, { sent_at: s(-3600) })])], s(61))
    expect(await db.presenceRows()).toEqual(["a a.host #6 sent=-3600 received=61"])
  })

  test("the same entry twice (in one batch, in a later one, after a restart) is stored once", async () => {
    await using db = await openHeartbeatsDb()
    expect(
      await db.write([envelope("a", [heartbeat(1), heartbeat(2)]), envelope("a", [heartbeat(2)])]),
    ).toEqual({ heartbeats: 2 })
    expect(await db.write([envelope("a", [heartbeat(1), heartbeat(2)])], s(100))).toEqual({})
    await db.reopen()
    expect(await db.write([envelope("a", [heartbeat(2), heartbeat(3)])], s(200))).toEqual({ heartbeats: 1 })
    expect(
      await db.rows("SELECT entry_id, count(*) AS n FROM agent_heartbeats GROUP BY ALL ORDER BY 1"),
    ).toEqual([
      { entry_id: 1, n: 1 },
      { entry_id: 2, n: 1 },
      { entry_id: 3, n: 1 },
    ])
    expect(await db.presenceRows()).toEqual(["a a.host #3 sent=30 received=200"])
  })

  test("after a restart presence is loaded from agent_presence, and a late heartbeat still cannot move it back", async () => {
    await using db = await openHeartbeatsDb()
    await db.write([envelope("a", [heartbeat(7)]), envelope("b", [heartbeat(2)])], s(71))
    const before = db.presence()
    await db.reopen()
    expect(db.presence()).toEqual(before)
    expect(db.kind.presence().get("b")?.intervalS).toBe(10)
    await db.write([envelope("a", [heartbeat(4)]), envelope("b", [heartbeat(3)])], s(80))
    expect(db.presence()).toEqual(["a a.host #7 sent=70 received=71", "b b.host #3 sent=30 received=80"])
    expect(await db.presenceRows()).toEqual(db.presence())
  })

  test("a rolled back batch changes neither the tables nor presence in memory", async () => {
    const failing: EntryKindModule = {
      kind: "rows",
      schemaSql: "SELECT 1",
      check: () => undefined,
      load: async () => {},
      append: async () => {
        throw new Error("rows: disk full")
      },
    }
    await using db = await openHeartbeatsDb([failing])
    await db.write([envelope("a", [heartbeat(1)])], s(11))
    await expect(
      db.write([envelope("a", [heartbeat(2)]), envelope("a", [heartbeat(3)], "rows")], s(21)),
    ).rejects.toThrow("disk full")
    expect(db.presence()).toEqual(["a a.host #1 sent=10 received=11"])
    expect(await db.presenceRows()).toEqual(db.presence())
    expect(await db.rows("SELECT count(*) AS n FROM agent_heartbeats")).toEqual([{ n: 1 }])
    // The same entry again, written this time: its id was not taken by the failed batch.
    expect(await db.write([envelope("a", [heartbeat(2)])], s(22))).toEqual({ heartbeats: 1 })
    expect(db.presence()).toEqual(["a a.host #2 sent=20 received=22"])
  })

  test("one module serves several databases, each with its own presence; append needs load first", async () => {
    const kind = createHeartbeatsKind()
    for (const agent of ["a", "b"]) {
      const instance = await DuckDBInstance.create(":memory:")
      const conn = await instance.connect()
      await conn.run(kind.schemaSql)
      const rows = [{ agent, host: "h", entry: heartbeat(1) }]
      await expect(kind.append(conn, rows, T0)).rejects.toThrow("load()")
      await kind.load(conn)
      await conn.run("BEGIN TRANSACTION")
      const done = await kind.append(conn, rows, T0)
      await conn.run("COMMIT")
      done.commit()
      expect([...kind.presence().keys()]).toEqual([agent])
      conn.closeSync()
      instance.closeSync()
    }
    expect(heartbeatsKind.check(heartbeat(1))).toBeUndefined()
    expect(heartbeatsKind.check({ ...heartbeat(1), interval_s: 0 })).toContain("interval_s")
  })
})
