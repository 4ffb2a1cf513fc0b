import { describe, expect, test } from "bun:test"
import { decodeEntriesBody, encodeEntriesBody } from "../entries-body.ts"
import { checkHeartbeat, type HeartbeatEntry, MAX_HEARTBEAT_SOURCES } from "./heartbeat.ts"

const good = (): HeartbeatEntry => ({
  id: 1,
  sent_at: 1_900_000_000_000,
  version: "0.1.0",
  started_at: 1_899_999_000_000,
  uptime_s: 1000.25,
  interval_s: 10,
  sources: [
    { name: "web", files: 3, behind_bytes: 0, lag_s: 0.5 },
    { name: "app", files: 0, behind_bytes: 12, lag_s: null },
    { name: "old", files: 1, behind_bytes: 0 },
  ],
  urls: { checks: 2 },
  outbox: { entries: 4, bytes: 900, dropped_total: 0, oldest_at: 1_899_999_990_000 },
  nats: { connected: true, server: "nats://127.0.0.1:4222" },
  last_publish_at: 1_899_999_999_000,
  last_publish_error: null,
})

type Change = (e: Record<string, unknown>) => void
const set =
  (path: string, value: unknown): Change =>
  (e) => {
    const keys = path.split(".")
    let at: Record<string, unknown> = e
    for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>
    at[keys.at(-1) as string] = value
  }
const source = (i: number, field: string, value: unknown): Change => set(`sources.${i}.${field}`, value)

describe("checkHeartbeat", () => {
  test("a full heartbeat passes, and one with every optional part null or empty", () => {
    expect(checkHeartbeat(good())).toBeUndefined()
    const bare = {
      ...good(),
      sources: [],
      urls: null,
      outbox: null,
      nats: { connected: false, server: null },
      last_publish_at: null,
      last_publish_error: "",
    }
    expect(checkHeartbeat(bare)).toBeUndefined()
  })

  test("preview_url: absent, null or an http(s) URL", () => {
    expect(checkHeartbeat({ ...good(), preview_url: null })).toBeUndefined()
    expect(checkHeartbeat({ ...good(), preview_url: "https://edge-1.internal:4406" })).toBeUndefined()
  })

  test("fields it does not know are ignored (a newer agent may send more)", () => {
    expect(checkHeartbeat({ ...good(), load_avg: [0.1, 0.2, 0.3] })).toBeUndefined()
  })

  test.each<[string, Change, string]>([
    ["sent_at missing", set("sent_at", undefined), "sent_at must be ms"],
    [
      "preview_url not http",
      set("preview_url", "file:///etc/passwd"),
      "preview_url must be absent, null or an http(s) URL",
    ],
    ["preview_url too long", set("preview_url", `https://${"a".repeat(510)}`), "preview_url must be absent"],
    ["sent_at fractional", set("sent_at", 1.5), "sent_at must be ms"],
    ["sent_at negative", set("sent_at", -1), "sent_at must be ms"],
    ["sent_at past year 9999", set("sent_at", 253402300800000), "sent_at must be ms"],
    ["version empty", set("version", ""), "version must be a text of 1-64"],
    ["version too long", set("version", "v".repeat(65)), "version must be a text of 1-64"],
    ["version a number", set("version", 1), "version must be a text"],
    ["started_at a string", set("started_at", "2030-01-01"), "started_at must be ms"],
    ["uptime_s negative", set("uptime_s", -0.1), "uptime_s must be"],
    ["uptime_s infinite", set("uptime_s", Number.POSITIVE_INFINITY), "uptime_s must be"],
    ["interval_s 0", set("interval_s", 0), "interval_s must be"],
    ["interval_s over a day", set("interval_s", 86_401), "interval_s must be"],
    ["interval_s NaN (null after JSON)", set("interval_s", null), "interval_s must be"],
    ["sources not an array", set("sources", {}), "sources must be an array"],
    [
      "too many sources",
      set(
        "sources",
        Array.from({ length: MAX_HEARTBEAT_SOURCES + 1 }, (_, i) => ({
          name: `s${i}`,
          files: 0,
          behind_bytes: 0,
        })),
      ),
      `sources must hold at most ${MAX_HEARTBEAT_SOURCES}`,
    ],
    ["a source not an object", (e) => ((e.sources as unknown[])[1] = "web"), "sources[1] must be an object"],
    ["a source name empty", source(0, "name", ""), "sources[0].name must be a text of 1-128"],
    ["a source name too long", source(2, "name", "n".repeat(129)), "sources[2].name"],
    ["a source's files fractional", source(0, "files", 1.5), "sources[0].files must be a count"],
    ["a source's behind_bytes negative", source(1, "behind_bytes", -1), "sources[1].behind_bytes"],
    ["a source's lag_s a string", source(0, "lag_s", "1s"), "sources[0].lag_s must be absent, null or"],
    ["urls not an object", set("urls", 2), "urls must be null or an object"],
    ["urls.checks missing", set("urls", {}), "urls.checks must be a count"],
    ["outbox an array", set("outbox", []), "outbox must be null or an object"],
    ["outbox.entries missing", set("outbox.entries", undefined), "outbox.entries must be a count"],
    ["outbox.bytes negative", set("outbox.bytes", -5), "outbox.bytes must be a count"],
    ["outbox.dropped_total fractional", set("outbox.dropped_total", 0.5), "outbox.dropped_total"],
    ["outbox.oldest_at missing", set("outbox.oldest_at", undefined), "outbox.oldest_at must be null or ms"],
    ["nats null", set("nats", null), "nats must be an object"],
    ["nats.connected a string", set("nats.connected", "yes"), "nats.connected must be true or false"],
    ["nats.server too long", set("nats.server", `nats://${"h".repeat(250)}`), "nats.server must be null or"],
    ["nats.server missing", set("nats.server", undefined), "nats.server must be null or"],
    ["last_publish_at fractional", set("last_publish_at", 0.5), "last_publish_at must be null or ms"],
    [
      "last_publish_error too long",
      set("last_publish_error", "e".repeat(1025)),
      "last_publish_error must be null or a text of at most 1024",
    ],
  ])("%s", (_name, change, problem) => {
    const e = good() as unknown as Record<string, unknown>
    change(e)
    expect(checkHeartbeat(e)).toContain(problem)
  })

  test("in a body: a bad heartbeat makes the body bad_body, naming the entry and the field", () => {
    const body = encodeEntriesBody([good(), { ...good(), id: 2, sources: [{ name: "", files: 0 }] }])
    expect(() => decodeEntriesBody(body, checkHeartbeat)).toThrow(
      "entry 1 (id 2): sources[0].name must be a text of 1-128 characters",
    )
    expect(decodeEntriesBody(encodeEntriesBody([good()]), checkHeartbeat).entries).toEqual([good()])
  })
})
