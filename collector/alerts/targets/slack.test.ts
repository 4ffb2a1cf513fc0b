import { describe, expect, test } from "bun:test"
import { utf8Bytes } from "./fit.ts"
import { slackOutcome, slackText } from "./slack.ts"
import { testMessage } from "./test-fixture.ts"

const answer = (status: number, body: string, headers: Record<string, string> = {}) => ({
  ok: true as const,
  status,
  headers: new Headers(headers),
  body,
})

describe("Slack text", () => {
  test("header, the lines in a code block, the link", () => {
    const text = slackText(testMessage(), 4000)
    expect(text).toBe(
      [
        "*[FIRING] nginx 5xx on edge*",
        "*12 matches* · severity *critical* · since 2023-11-14T22:13:20Z",
        "agent=edge-1, rule=nginx-5xx",
        "```",
        "edge-1 /var/log/nginx/error.log:1024  GET /api 502 upstream timed out",
        "edge-1 /var/log/nginx/error.log:2048  GET /api 504 gateway timeout",
        "… and 10 more lines",
        "```",
        "<http://127.0.0.1:4480/preview/grp-7f3a|Open the lines>",
      ].join("\n"),
    )
  })

  test("&, < and > are escaped; a fence in a line cannot close the block", () => {
    const m = testMessage({ title: "a<b & c>d", lines: [{ text: "x ``` <script>" }], count: 1 })
    const text = slackText(m, 4000)
    expect(text).toContain("*[FIRING] a&lt;b &amp; c&gt;d*")
    expect(text).toContain("\nx ''' &lt;script&gt;\n")
    expect(text.split("```")).toHaveLength(3)
  })

  test("multi-byte lines stay within the limit, the block still closed", () => {
    const lines = Array.from({ length: 40 }, (_, i) => ({ text: `第${i}行 ошибка соединения 😀`.repeat(6) }))
    const text = slackText(testMessage({ lines, count: 40 }), 1200)
    expect(utf8Bytes(text)).toBeLessThanOrEqual(1200)
    expect(Buffer.from(text).toString()).toBe(text)
    expect(text).toMatch(/… and \d+ more lines\n```\n<http/)
  })

  test("a digest lists the groups", () => {
    const digest = { groups: [{ title: "disk full", count: 3, status: "firing" as const }] }
    expect(slackText(testMessage({ digest }), 4000)).toContain("\n• [FIRING] disk full: 3 matches\n")
  })
})

describe("Slack answers", () => {
  const now = 1_700_000_000_000
  test.each([
    ["200 ok", answer(200, "ok"), { type: "sent" }],
    [
      "429 with Retry-After",
      answer(429, "rate_limited", { "retry-after": "7" }),
      { type: "throttled", untilMs: now + 7000 },
    ],
    ["429 without Retry-After", answer(429, ""), { type: "throttled", untilMs: now + 30_000 }],
    [
      "400 invalid_payload",
      answer(400, "invalid_payload"),
      { type: "permanent", error: "HTTP 400: invalid_payload" },
    ],
    ["403 action_prohibited", answer(403, "action_prohibited"), { type: "permanent" }],
    ["404 channel_not_found", answer(404, "channel_not_found"), { type: "permanent" }],
    ["410 channel_is_archived", answer(410, "channel_is_archived"), { type: "permanent" }],
    ["500", answer(500, "oops"), { type: "retry", error: "HTTP 500: oops" }],
    ["503 with Retry-After", answer(503, "", { "retry-after": "2" }), { type: "retry", afterMs: 2000 }],
  ])("%s", (_, result, expected) => {
    expect(slackOutcome(result, now)).toMatchObject(expected)
  })
})
