import { describe, expect, test } from "bun:test"
import { createLogger, createRepeatLimiter, parseLogFormat, parseLogLevel } from "./logger.ts"

const at = Date.parse("2026-12-02T07:00:00.000Z")

function capture(options: Partial<Parameters<typeof createLogger>[0]> = {}) {
  const lines: string[] = []
  const log = createLogger({
    component: "agent",
    journal: false,
    now: () => at,
    write: (l) => lines.push(l),
    ...options,
  })
  return { log, lines }
}

describe("logger", () => {
  test("text: time, level, component, message, then fields; below the level nothing", () => {
    const { log, lines } = capture({ level: "info" })
    log.info("shipped", { lines: 3, file: "/var/log/a b.log" })
    log.debug("not shown")
    log.child("logs[web]").warn("rotated")
    expect(lines).toEqual([
      '2026-12-02T07:00:00.000Z info  agent: shipped lines=3 file="/var/log/a b.log"',
      "2026-12-02T07:00:00.000Z warn  logs[web]: rotated",
    ])
  })

  test("level filter: error shows only errors; debug shows all", () => {
    const quiet = capture({ level: "error" })
    for (const l of ["error", "warn", "info", "debug"] as const) quiet.log[l](l)
    expect(quiet.lines.map((l) => l.split(" ")[1])).toEqual(["error"])
    expect(quiet.log.enabled("warn")).toBe(false)
    const loud = capture({ level: "debug" })
    for (const l of ["error", "warn", "info", "debug"] as const) loud.log[l](l)
    expect(loud.lines).toHaveLength(4)
  })

  test("json: one object per line with time, level, component, msg and fields", () => {
    const { log, lines } = capture({ format: "json" })
    log.error('bad "thing"', { code: "config_invalid" })
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {
        time: "2026-12-02T07:00:00.000Z",
        level: "error",
        component: "agent",
        msg: 'bad "thing"',
        code: "config_invalid",
      },
    ])
  })

  test("under the journal: priority prefixes instead of timestamps", () => {
    const { log, lines } = capture({ journal: true, level: "debug" })
    log.error("e")
    log.warn("w")
    log.info("i")
    log.debug("d")
    expect(lines).toEqual([
      "<3>error agent: e",
      "<4>warn  agent: w",
      "<6>info  agent: i",
      "<7>debug agent: d",
    ])
  })

  test("repeat limiter: once per interval per key, and the next line says how many were held back", () => {
    let t = 0
    const said: string[] = []
    const limit = createRepeatLimiter(10_000, () => t)
    const say = (m: string) => said.push(m)
    limit("nats", say, "NATS unreachable")
    t = 1000
    limit("nats", say, "NATS unreachable")
    limit("other", say, "something else")
    t = 2000
    limit("nats", say, "NATS unreachable")
    t = 10_000
    limit("nats", say, "NATS unreachable")
    expect(said).toEqual([
      "NATS unreachable",
      "something else",
      "NATS unreachable (2 more like it in the last 10 s)",
    ])
  })

  test("level and format names parse; others do not", () => {
    expect(parseLogLevel("warn")).toBe("warn")
    expect(parseLogLevel("verbose")).toBeUndefined()
    expect(parseLogFormat("json")).toBe("json")
    expect(parseLogFormat("logfmt")).toBeUndefined()
  })
})
