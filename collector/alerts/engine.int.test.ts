import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { parseConfig } from "../../shared/config/index.ts"
import { recordingLogger, tempDir } from "../../test/harness/index.ts"
import type { AgentPresence } from "../kinds/heartbeats/index.ts"
import type { RejectedEnvelope } from "../sinks/duckdb/types.ts"
import { AlertsConfigSchema } from "./config.ts"
import { DeliveryStore, DeliveryWorker } from "./deliveries/index.ts"
import { AlertEngine } from "./engine.ts"
import { AlertHistory } from "./history.ts"
import { logMatchSignal } from "./log-matches.ts"
import { createWebhookTarget, webhookBucket } from "./targets/index.ts"
import { fakeChat } from "./targets/test-fixture.ts"

const S = 1000
const T0 = Date.UTC(2030, 0, 1)
const heard = (at: number): AgentPresence => ({
  host: "h",
  entryId: 1,
  lastSentAt: at,
  lastReceivedAt: at,
  version: "v",
  startedAt: 0,
  intervalS: 1,
  previewUrl: null,
})
const match = (n: number) => ({
  agent: "edge-1",
  host: "h",
  file: "/var/log/app.log",
  gen: "g",
  offset: n * 10,
  rule: "error",
  text: `ERROR ${n}`,
  bytes: 7,
})

describe("AlertEngine (real DuckDB, a webhook played by a local server)", () => {
  test("inhibition: while an agent is offline its log alerts wait; one offline message, then back, then the held lines", async () => {
    await using dir = tempDir()
    await using hook = fakeChat("/hook")
    const instance = await DuckDBInstance.create(join(dir.path, "a.duckdb"))
    const conn = await instance.connect()
    const store = await DeliveryStore.open(conn)
    const history = await AlertHistory.open(conn)
    const config = parseConfig(
      {
        targets: [{ name: "ops", type: "webhook", url: hook.url }],
        group_wait_s: 0,
        group_interval_s: 10,
        agent_offline_after_s: 5,
      },
      AlertsConfigSchema,
    )
    const worker = new DeliveryWorker(
      store,
      new Map([
        [
          "ops",
          { target: createWebhookTarget({ name: "ops", url: hook.url }), budget: webhookBucket(600, T0) },
        ],
      ]),
    )
    const presence = new Map([["edge-1", heard(T0)]])
    const engine = new AlertEngine({
      config,
      store,
      history,
      worker,
      presence: () => presence,
      startedAt: T0,
      logger: recordingLogger("alerts"),
    })
    const sent = () =>
      hook.seen.map((r) => {
        const body = JSON.parse(r.body) as {
          status: string
          commonLabels: Record<string, string>
          outpost: { count: number }
        }
        return `${body.commonLabels.alertname} ${body.status} ${body.outpost.count}`
      })
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
    instance.closeSync()
  })

  test("a burst of forged envelopes is one message per reason, counted; posing as an offline agent does not hide it", async () => {
    await using dir = tempDir()
    await using hook = fakeChat("/hook")
    const instance = await DuckDBInstance.create(join(dir.path, "a.duckdb"))
    const conn = await instance.connect()
    const store = await DeliveryStore.open(conn)
    const history = await AlertHistory.open(conn)
    const config = parseConfig(
      {
        targets: [{ name: "ops", type: "webhook", url: hook.url }],
        group_wait_s: 10,
        group_interval_s: 60,
        agent_offline_after_s: 5,
      },
      AlertsConfigSchema,
    )
    const target = createWebhookTarget({ name: "ops", url: hook.url })
    const worker = new DeliveryWorker(store, new Map([["ops", { target, budget: webhookBucket(600, T0) }]]))
    const engine = new AlertEngine({
      config,
      store,
      history,
      worker,
      presence: () => new Map([["edge-1", heard(T0)]]),
      startedAt: T0,
      logger: recordingLogger("alerts"),
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
      .map((r) => JSON.parse(r.body) as { commonLabels: Record<string, string>; outpost: { count: number } })
      .map((b) => `${b.commonLabels.alertname} ${b.commonLabels.reason ?? ""} ${b.outpost.count}`)
    expect(titles.sort()).toEqual([
      "agent_offline  1",
      "rejected_envelopes signature 300",
      "rejected_envelopes unknown_agent 3",
    ])
    const rows = await conn.runAndReadAll(
      "SELECT labels->>'claimed_agent', count FROM alerts WHERE rule = 'rejected_envelopes' ORDER BY 1",
    )
    expect(rows.getRows().map(([a, n]) => `${a} ${n}`)).toEqual(["edge-1 300", "intruder 3"])
    instance.closeSync()
  })
})
