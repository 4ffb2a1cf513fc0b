import { describe, expect, test } from "bun:test"
import { parseConfig } from "../../shared/config/index.ts"
import type { ReceivedEnvelope } from "../../shared/protocol/envelope.ts"
import { decodeLogsBody, encodeLogsBody } from "../../shared/protocol/logs-body.ts"
import type { AcceptedEnvelope } from "../sinks/duckdb/types.ts"
import { type AlertRuleConfig, AlertsConfigSchema } from "./config.ts"
import { ruleMatches } from "./engine.ts"
import { type LogMatch, logMatchSignal, matchedLines, SeenMatches } from "./log-matches.ts"

const bytes = (s: string) => new TextEncoder().encode(s)

/** A logs envelope of edge-1: a raw block, then two matched lines (one with invalid UTF-8). */
function envelope(): AcceptedEnvelope {
  const body = encodeLogsBody(
    [
      { path: "/var/log/app.log", gen: "g1" },
      { path: "/var/log/db.log", gen: "g2" },
    ],
    [
      { f: 0, s: 0, e: 40 },
      { f: 1, s: 100, e: 110 },
    ],
    [
      { f: 0, o: 0, n: 12, raw: 1, at: 1 },
      { f: 0, o: 12, n: 10, r: "error", at: 1 },
      { f: 1, o: 100, n: 4, r: "panic", at: 1 },
    ],
    [bytes("all fine\nok\n"), bytes("ERROR disk"), new Uint8Array([0x50, 0xff, 0x41, 0x4e])],
  )
  return {
    meta: { agent: "edge-1", host: "web-1" } as ReceivedEnvelope,
    streamSeq: 1,
    bytes: body.length,
    logs: decodeLogsBody(body),
  }
}

describe("matched lines", () => {
  test("only the parts tagged with a rule, with their file, generation and offset; bad bytes replaced", () => {
    expect(matchedLines([envelope()])).toEqual([
      {
        agent: "edge-1",
        host: "web-1",
        file: "/var/log/app.log",
        gen: "g1",
        offset: 12,
        rule: "error",
        text: "ERROR disk",
        bytes: 10,
      },
      {
        agent: "edge-1",
        host: "web-1",
        file: "/var/log/db.log",
        gen: "g2",
        offset: 100,
        rule: "panic",
        text: "P\uFFFDAN",
        bytes: 4,
      },
    ])
  })

  test("a line seen before (shipped again after an agent crash) is not a new match", () => {
    const seen = new SeenMatches(2)
    const [a, b] = matchedLines([envelope()]) as [LogMatch, LogMatch]
    expect([seen.first(a), seen.first(a), seen.first(b)]).toEqual([true, false, true])
  })

  test("rules filter by agent, file glob and agent rule", () => {
    const [a] = matchedLines([envelope()]) as [LogMatch]
    const s = logMatchSignal(a, 0)
    const rule = (r: Record<string, unknown>) =>
      parseConfig({ rules: [{ name: "x", when: "log_match", ...r }] }, AlertsConfigSchema)
        .rules[0] as AlertRuleConfig
    expect(ruleMatches(rule({}), s)).toBe(true)
    expect(ruleMatches(rule({ agents: ["edge-2"] }), s)).toBe(false)
    expect(ruleMatches(rule({ files: ["/var/log/*.log"] }), s)).toBe(true)
    expect(ruleMatches(rule({ files: ["/srv/**"] }), s)).toBe(false)
    expect(ruleMatches(rule({ log_rules: ["panic"] }), s)).toBe(false)
    expect(ruleMatches(rule({ when: "agent_offline" }), s)).toBe(false)
  })
})
