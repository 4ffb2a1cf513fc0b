import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { tempDir } from "../../../test/harness/index.ts"
import { createDingTalkTarget, createSlackTarget, dingTalkBucket, slackBucket } from "../targets/index.ts"
import { fakeChat, testMessage } from "../targets/test-fixture.ts"
import { DeliveryStore } from "./store.ts"
import { DeliveryWorker, retryDelayMs } from "./worker.ts"

const T0 = Date.UTC(2030, 0, 1)
const S = 1000

/** A real DuckDB file; `reopen` closes it and opens it again, as a collector restart does. */
async function database(path: string) {
  let instance = await DuckDBInstance.create(path)
  let store = await DeliveryStore.open(await instance.connect())
  return {
    store: () => store,
    async reopen() {
      instance.closeSync()
      instance = await DuckDBInstance.create(path)
      store = await DeliveryStore.open(await instance.connect())
    },
    close: () => instance.closeSync(),
  }
}

describe("delivery worker over alert_deliveries (real DuckDB, chat APIs played by local servers)", () => {
  test("a chat down for a while, a collector restart meanwhile: each message reaches each target once", async () => {
    await using dir = tempDir()
    await using ding = fakeChat("/robot/send")
    await using slack = fakeChat("/hook")
    let dingUp = false
    ding.answer = () =>
      dingUp ? Response.json({ errcode: 0, errmsg: "ok" }) : new Response("bad gateway", { status: 502 })
    const db = await database(join(dir.path, "alerts.duckdb"))
    let now = T0
    const targets = () =>
      new Map([
        [
          "ding",
          {
            target: createDingTalkTarget({
              name: "ding",
              url: ding.url,
              accessToken: "tok",
              secret: "SEC",
              now: () => now,
            }),
            budget: dingTalkBucket(now),
          },
        ],
        ["slack", { target: createSlackTarget({ name: "slack", url: slack.url }), budget: slackBucket(now) }],
      ])
    let worker = new DeliveryWorker(db.store(), targets())
    const message = testMessage({ key: "m-1" })
    const delivery = { groupKey: "g", rule: "errors", message, targets: ["ding", "slack"] }
    await db.store().enqueue([delivery], now)
    await db.store().enqueue([delivery], now) // the same message again: nothing more

    expect(await worker.runOnce(now)).toBe(1) // slack at once; ding answers 502
    for (let i = 1; i <= 3; i++) {
      now += retryDelayMs(i)
      expect(await worker.runOnce(now)).toBe(0)
    }
    await db.reopen() // restart while the chat is still down: the pending delivery is in the file
    worker = new DeliveryWorker(db.store(), targets())
    dingUp = true
    now += retryDelayMs(4)
    expect(await worker.runOnce(now)).toBe(1)
    now += 60 * 60 * S
    expect(await worker.runOnce(now)).toBe(0) // nothing left

    expect(slack.seen).toHaveLength(1)
    expect(ding.seen).toHaveLength(5) // 4 failures, 1 success
    const uuids = new Set(ding.seen.map((r) => JSON.parse(r.body).msgUuid))
    expect([...uuids]).toEqual(["m-1"]) // every retry the same msgUuid
    expect(await db.store().counts()).toEqual([
      { target: "ding", state: "sent", n: 1 },
      { target: "slack", state: "sent", n: 1 },
    ])
    db.close()
  })

  test("a permanent answer stops the target: its deliveries are marked, not retried; others go on", async () => {
    await using dir = tempDir()
    await using slack = fakeChat("/hook")
    slack.answer = () => new Response("channel_is_archived", { status: 410 })
    const db = await database(join(dir.path, "alerts.duckdb"))
    const worker = new DeliveryWorker(
      db.store(),
      new Map([
        ["slack", { target: createSlackTarget({ name: "slack", url: slack.url }), budget: slackBucket(T0) }],
      ]),
    )
    await db.store().enqueue(
      [1, 2, 3].map((n) => ({
        groupKey: "g",
        rule: "r",
        message: testMessage({ key: `m-${n}` }),
        targets: ["slack"],
      })),
      T0,
    )
    expect(await worker.runOnce(T0)).toBe(0)
    expect(await worker.runOnce(T0 + 3600 * S)).toBe(0)
    expect(slack.seen).toHaveLength(1) // the first answer stopped it
    expect(worker.targetStates().get("slack")?.stopped).toContain("channel_is_archived")
    expect(await db.store().counts()).toEqual([{ target: "slack", state: "permanent", n: 3 }])
    db.close()
  })

  test("a spent budget holds messages back without losing one; they go as tokens come", async () => {
    await using dir = tempDir()
    await using ding = fakeChat("/robot/send")
    ding.answer = () => Response.json({ errcode: 0, errmsg: "ok" })
    const db = await database(join(dir.path, "alerts.duckdb"))
    let now = T0
    const worker = new DeliveryWorker(
      db.store(),
      new Map([
        [
          "ding",
          {
            target: createDingTalkTarget({ name: "ding", url: ding.url, accessToken: "tok", now: () => now }),
            budget: dingTalkBucket(now),
          },
        ],
      ]),
    )
    const n = 40
    await db.store().enqueue(
      Array.from({ length: n }, (_, i) => ({
        groupKey: "g",
        rule: "r",
        message: testMessage({ key: `m-${i}` }),
        targets: ["ding"],
      })),
      now,
    )
    let sent = 0
    const perMinute: number[] = []
    for (let minute = 0; minute < 10 && sent < n; minute++) {
      let inMinute = 0
      for (let s = 0; s < 60; s += 5) inMinute += await worker.runOnce(now + s * S)
      perMinute.push(inMinute)
      sent += inMinute
      now += 60 * S
    }
    expect(sent).toBe(n)
    expect(Math.max(...perMinute)).toBeLessThanOrEqual(20) // DingTalk's budget, never exceeded
    expect(new Set(ding.seen.map((r) => JSON.parse(r.body).msgUuid)).size).toBe(n)
    db.close()
  })
})
