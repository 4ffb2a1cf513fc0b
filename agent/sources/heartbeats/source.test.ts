import { describe, expect, test } from "bun:test"
import { parseConfig } from "../../../shared/config/load.ts"
import { ConfigError } from "../../../shared/errors.ts"
import { checkHeartbeat } from "../../../shared/protocol/heartbeats/heartbeat.ts"
import { recordingLogger, waitFor } from "../../../test/harness/index.ts"
import { HEARTBEAT_CONFIG_DEFAULTS, HeartbeatConfigSchema } from "./schema.ts"
import { heartbeatOutbox, heartbeatSourceStatus } from "./snapshot.ts"
import {
  createHeartbeatSource,
  type HeartbeatDraft,
  type HeartbeatSnapshot,
  type HeartbeatSourceOptions,
} from "./source.ts"

const T0 = Date.UTC(2030, 0, 1)

const snapshot = (more: Partial<HeartbeatSnapshot> = {}): HeartbeatSnapshot => ({
  sources: [{ name: "web", files: 2, behind_bytes: 10 }],
  urls: { checks: 1 },
  outbox: { entries: 0, bytes: 0, dropped_total: 0, oldest_at: null },
  nats: { connected: true, server: "nats://127.0.0.1:4222" },
  last_publish_at: null,
  last_publish_error: null,
  ...more,
})

/** A source on a fake wall clock (T0 + 1 s per reading) and uptime, recording what it appends and logs. */
function start(options: Partial<HeartbeatSourceOptions> = {}) {
  const appended: HeartbeatDraft[] = []
  const logger = recordingLogger("heartbeats")
  let t = T0
  const source = createHeartbeatSource({
    intervalS: 0.02,
    snapshot: () => snapshot(),
    append: (entries) => appended.push(...entries),
    version: "9.9.9",
    now: () => (t += 1000),
    uptimeS: () => 30,
    logger,
    ...options,
  })
  const stop = new AbortController()
  const running = source.run(stop.signal)
  return {
    source,
    appended,
    logger,
    async stop() {
      stop.abort()
      await running
    },
  }
}

describe("heartbeats source", () => {
  test("one heartbeat at once (not after the first interval), with the times, interval and version filled in", async () => {
    const s = start({ intervalS: 300 })
    await waitFor("the first heartbeat", () => s.appended.length === 1)
    await s.stop()
    expect(s.appended).toEqual([
      {
        ...snapshot(),
        // T0 + 1 s at creation, minus 30 s of uptime; sent at the next reading of the clock
        started_at: T0 + 1000 - 30_000,
        sent_at: T0 + 2000,
        version: "9.9.9",
        uptime_s: 30,
        interval_s: 300,
      },
    ])
    expect(s.source.stats()).toEqual({ sent: 1, failed: 0, last_sent_at: T0 + 2000, last_error: null })
  })

  test("then one every interval until stopped; none after run() resolved", async () => {
    const s = start({ intervalS: 0.02 })
    await waitFor("five heartbeats", () => s.appended.length >= 5)
    await s.stop()
    const sent = s.appended.length
    const times = s.appended.map((h) => h.sent_at)
    expect(times).toEqual([...times].sort((a, b) => a - b))
    // A second source on the same interval beats three times: the stopped one would have beaten meanwhile.
    const other = start({ intervalS: 0.02 })
    await waitFor("three heartbeats of another source", () => other.appended.length >= 3)
    await other.stop()
    expect(s.appended.length).toBe(sent)
    for (const h of s.appended) expect(checkHeartbeat({ ...h, id: 1 })).toBeUndefined()
  })

  test("a snapshot that throws skips that beat (logged once, counted); the next beats go on", async () => {
    let calls = 0
    const s = start({
      snapshot: () => {
        if (++calls === 2) throw new Error("outbox is closed")
        return snapshot()
      },
    })
    await waitFor("two heartbeats around the failed one", () => s.appended.length >= 2 && calls >= 3)
    await s.stop()
    expect(s.logger.at("warn")).toEqual(["heartbeat skipped: its snapshot failed: outbox is closed"])
    expect(s.logger.at("info")).toEqual(["heartbeats sent again after 1 skipped"])
    expect(s.source.stats()).toMatchObject({
      failed: 1,
      last_error: expect.stringContaining("outbox is closed"),
    })
  })

  test("an append that throws is logged and counted, and run() still resolves on abort", async () => {
    let calls = 0
    const s = start({
      append: () => {
        calls++
        throw new Error("SQLITE_FULL")
      },
    })
    await waitFor("three attempts", () => calls >= 3)
    await s.stop()
    expect(s.logger.at("warn")).toEqual(["cannot keep a heartbeat: SQLITE_FULL"])
    expect(s.source.stats()).toMatchObject({ sent: 0, failed: calls })
  })

  test("long texts are cut to the protocol's bounds; a heartbeat the collector would refuse is never appended", async () => {
    let calls = 0
    const s = start({
      snapshot: () =>
        ++calls === 1
          ? snapshot({
              sources: [{ name: "s".repeat(500), files: 1, behind_bytes: 0 }],
              nats: { connected: false, server: `nats://${"h".repeat(400)}` },
              last_publish_error: "e".repeat(5000),
            })
          : snapshot({ sources: [{ name: "web", files: 1, behind_bytes: Number.NaN }] }),
    })
    await waitFor("a cut heartbeat and a refused one", () => calls >= 2)
    await s.stop()
    expect(s.appended).toHaveLength(1)
    const [first] = s.appended as [HeartbeatDraft]
    expect(checkHeartbeat({ ...first, id: 1 })).toBeUndefined()
    expect([
      first.sources[0]?.name.length,
      first.nats.server?.length,
      first.last_publish_error?.length,
    ]).toEqual([128, 256, 1024])
    expect(s.logger.at("warn")).toEqual([
      "heartbeat skipped: the collector would refuse it: sources[0].behind_bytes must be a count",
    ])
  })

  test.each([0, -1, 86_401, Number.NaN])("interval %p is refused as a ConfigError", (intervalS) => {
    expect(() => createHeartbeatSource({ intervalS, snapshot, append: () => {} })).toThrow(ConfigError)
  })
})

describe("[heartbeat] config", () => {
  const parse = (raw: object) => parseConfig(raw, HeartbeatConfigSchema, "heartbeat")

  test("an empty section is the defaults", () => {
    expect(parse({})).toEqual(HEARTBEAT_CONFIG_DEFAULTS)
    expect(HEARTBEAT_CONFIG_DEFAULTS).toEqual({ enabled: true, interval_s: 10 })
    expect(parse({ enabled: false, interval_s: 2.5 })).toEqual({ enabled: false, interval_s: 2.5 })
  })

  test.each<[string, object, string]>([
    ["below 1 s", { interval_s: 0.5 }, "interval_s"],
    ["above 300 s", { interval_s: 301 }, "interval_s"],
    ["a text", { interval_s: "10" }, "interval_s"],
    ["an unknown key", { period_s: 10 }, "period_s"],
  ])("%s is refused", (_name, raw, field) => {
    expect(() => parse(raw)).toThrow(field)
  })
})

describe("snapshot parts", () => {
  test("a logs source's files and bytes behind; the outbox's stats", () => {
    const file = { source: "web", gen: "g", state: "active" as const, position: 0, acked: 0, size: 0 }
    const status = {
      patterns: [],
      files: [
        { ...file, path: "/a", behind: 100 },
        { ...file, path: "/b", behind: 5 },
      ],
    }
    expect(heartbeatSourceStatus("web", status)).toEqual({ name: "web", files: 2, behind_bytes: 105 })
    expect(heartbeatSourceStatus("idle", undefined)).toEqual({ name: "idle", files: 0, behind_bytes: 0 })
    expect(
      heartbeatOutbox({ entries: 3, bytes: 300, dropped: { urls: 2 }, droppedSinceOpen: 9, oldestAt: T0 }),
    ).toEqual({ entries: 3, bytes: 300, dropped_total: 9, oldest_at: T0 })
    expect(heartbeatOutbox({ entries: 0, bytes: 0, dropped: {}, droppedSinceOpen: 0 }).oldest_at).toBeNull()
  })
})
