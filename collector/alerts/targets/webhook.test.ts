import { describe, expect, test } from "bun:test"
import { utf8Bytes } from "./fit.ts"
import { testMessage } from "./test-fixture.ts"
import { fingerprint, webhookPayload } from "./webhook.ts"

describe("webhook payload", () => {
  test("Alertmanager's shape, plus the count and the lines", () => {
    const p = webhookPayload(testMessage(), "hooks", 256 * 1024)
    const labels = {
      alertname: "nginx 5xx on edge",
      rule: "nginx-5xx",
      agent: "edge-1",
      severity: "critical",
    }
    expect(p).toEqual({
      version: "4",
      groupKey: "grp-7f3a:1",
      status: "firing",
      receiver: "hooks",
      groupLabels: { rule: "nginx-5xx", agent: "edge-1" },
      commonLabels: labels,
      commonAnnotations: { summary: "nginx 5xx on edge" },
      externalURL: "http://127.0.0.1:4480",
      alerts: [
        {
          status: "firing",
          labels,
          annotations: { summary: "nginx 5xx on edge", count: "12" },
          startsAt: "2023-11-14T22:13:20.000Z",
          endsAt: "0001-01-01T00:00:00Z",
          generatorURL: "http://127.0.0.1:4480/preview/grp-7f3a",
          fingerprint: fingerprint(labels),
        },
      ],
      outpost: {
        key: "grp-7f3a:1",
        title: "nginx 5xx on edge",
        count: 12,
        lines: testMessage().lines,
        omittedLines: 10,
        link: "http://127.0.0.1:4480/preview/grp-7f3a",
      },
    })
  })

  test("resolved: endsAt set", () => {
    const p = webhookPayload(testMessage({ status: "resolved", endsAt: 1_700_000_060_000 }), "hooks", 1 << 20)
    expect(p.alerts[0]).toMatchObject({ status: "resolved", endsAt: "2023-11-14T22:14:20.000Z" })
  })

  test("a digest: one alert per group", () => {
    const digest = {
      groups: [
        { title: "a", count: 2, status: "firing" as const },
        { title: "b", count: 1, status: "resolved" as const },
      ],
    }
    const p = webhookPayload(testMessage({ digest }), "hooks", 1 << 20)
    expect(p.alerts.map((a) => [a.status, a.labels.alertname, a.annotations.count])).toEqual([
      ["firing", "a", "2"],
      ["resolved", "b", "1"],
    ])
    expect(p.commonLabels).toEqual({})
    expect(p.outpost.digest).toEqual(digest)
  })

  test("fingerprint: the same for the same labels in any order, 16 hex digits", () => {
    expect(fingerprint({ a: "1", b: "2" })).toBe(fingerprint({ b: "2", a: "1" }))
    expect(fingerprint({ a: "1", b: "2" })).not.toBe(fingerprint({ a: "1", b: "3" }))
    expect(fingerprint({ a: "1" })).toMatch(/^[0-9a-f]{16}$/)
  })

  test("too big: lines dropped from the end and counted, multi-byte text cut whole", () => {
    const lines = Array.from({ length: 30 }, (_, i) => ({ text: `行${i} 😀`.repeat(400) }))
    const p = webhookPayload(testMessage({ lines, count: 30 }), "hooks", 16 * 1024)
    const json = JSON.stringify(p)
    expect(utf8Bytes(json)).toBeLessThanOrEqual(16 * 1024)
    expect(p.outpost.lines.length).toBeGreaterThan(0)
    expect(p.outpost.lines.length + p.outpost.omittedLines).toBe(30)
    for (const l of p.outpost.lines) expect(utf8Bytes(l.text)).toBeLessThanOrEqual(4096)
    expect(json).not.toContain("\\ud")
  })
})
