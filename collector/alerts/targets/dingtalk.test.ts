import { describe, expect, test } from "bun:test"
import { createHmac } from "node:crypto"
import { dingTalkMarkdown, dingTalkOutcome, dingTalkUrl, signDingTalk } from "./dingtalk.ts"
import { utf8Bytes } from "./fit.ts"
import { testMessage } from "./test-fixture.ts"

const answer = (status: number, body: unknown) => ({
  ok: true as const,
  status,
  headers: new Headers(),
  body: typeof body === "string" ? body : JSON.stringify(body),
})

describe("DingTalk signing", () => {
  // Derived once, independently of this code, with Python's standard library:
  //   base64.b64encode(hmac.new(b"SEC000test", b"1700000000000\nSEC000test", hashlib.sha256).digest())
  // and the same with node:crypto below; both gave this string. It holds '+' and '=', which must be encoded.
  const EXPECTED = "1hLl2KkRX3rps9FaitIUwaac+CtAFEaP345jvdrTL7c="

  test("the fixed vector: timestamp 1700000000000, secret SEC000test", () => {
    const independent = createHmac("sha256", "SEC000test")
      .update("1700000000000\nSEC000test")
      .digest("base64")
    expect(independent).toBe(EXPECTED)
    expect(signDingTalk(1_700_000_000_000, "SEC000test")).toBe(EXPECTED)
  })

  test("the URL carries token, timestamp and sign, the sign URL-encoded exactly once", () => {
    const url = dingTalkUrl("https://oapi.dingtalk.com/robot/send", "tok", 1_700_000_000_000, "SEC000test")
    expect(url).toBe(
      "https://oapi.dingtalk.com/robot/send?access_token=tok&timestamp=1700000000000&sign=1hLl2KkRX3rps9FaitIUwaac%2BCtAFEaP345jvdrTL7c%3D",
    )
    expect(new URL(url).searchParams.get("sign")).toBe(EXPECTED)
  })

  test("without a secret: the token alone", () => {
    expect(dingTalkUrl("https://oapi.dingtalk.io/robot/send", "tok", 1, undefined)).toBe(
      "https://oapi.dingtalk.io/robot/send?access_token=tok",
    )
  })
})

describe("DingTalk markdown", () => {
  test("title, count, severity, lines as quotes, the link", () => {
    const { title, text } = dingTalkMarkdown(testMessage(), { maxBytes: 4000 })
    expect(title).toBe("[FIRING] nginx 5xx on edge")
    expect(text).toContain("#### [FIRING] nginx 5xx on edge")
    expect(text).toContain("**12 matches** · severity **critical** · since 2023-11-14T22:13:20Z")
    expect(text).toContain("> edge-1 /var/log/nginx/error.log:1024 · GET /api 502 upstream timed out")
    expect(text).toContain("… and 10 more lines")
    expect(text.endsWith("[Open the lines](http://127.0.0.1:4480/preview/grp-7f3a)")).toBe(true)
  })

  test.each([
    ["a keyword missing from the title is put in it", "告警", "告警 [FIRING] nginx 5xx on edge"],
    ["a keyword already in the title is left alone", "nginx", "[FIRING] nginx 5xx on edge"],
  ])("%s", (_, keyword, expected) => {
    const { title, text } = dingTalkMarkdown(testMessage(), { keyword, maxBytes: 4000 })
    expect(title).toBe(expected)
    expect(text).toContain(keyword)
  })

  test("many multi-byte lines stay within the limit, whole characters, the rest counted", () => {
    const lines = Array.from({ length: 50 }, (_, i) => ({
      text: `第${i}行：数据库连接失败 😀`.repeat(8),
      agent: "边缘-1",
    }))
    const m = testMessage({ lines, count: 400, title: "数据库告警" })
    const { text } = dingTalkMarkdown(m, { keyword: "告警", maxBytes: 1500 })
    expect(utf8Bytes(text)).toBeLessThanOrEqual(1500)
    expect(Buffer.from(text).toString()).toBe(text)
    const shown = text.split("\n\n").filter((p) => p.startsWith("> ")).length
    expect(shown).toBeGreaterThan(0)
    expect(text).toContain(`… and ${400 - shown} more lines`)
  })

  test("a digest lists the groups", () => {
    const digest = {
      groups: [
        { title: "nginx 5xx", count: 40, status: "firing" as const },
        { title: "edge-2 offline", count: 1, status: "resolved" as const },
      ],
    }
    const { text } = dingTalkMarkdown(testMessage({ title: "2 groups", digest }), { maxBytes: 4000 })
    expect(text).toContain("- [FIRING] nginx 5xx: 40 matches\n\n- [RESOLVED] edge-2 offline: 1 match")
    expect(text).not.toContain("upstream timed out")
  })
})

describe("DingTalk answers", () => {
  const now = 1_700_000_000_000
  test.each([
    ["errcode 0", answer(200, { errcode: 0, errmsg: "ok" }), { type: "sent" }],
    [
      "130101: too fast",
      answer(200, { errcode: 130101, errmsg: "send too fast" }),
      { type: "throttled", untilMs: now + 600_000 },
    ],
    [
      "310000: security settings",
      answer(200, { errcode: 310000, errmsg: "sign not match" }),
      { type: "permanent" },
    ],
    [
      "300001: no such token",
      answer(200, { errcode: 300001, errmsg: "token is not exist" }),
      { type: "permanent" },
    ],
    ["another errcode", answer(200, { errcode: 400102, errmsg: "robot stopped" }), { type: "retry" }],
    ["not JSON", answer(200, "<html>maintenance</html>"), { type: "retry" }],
    ["HTTP 502", answer(502, "bad gateway"), { type: "retry" }],
    ["HTTP 404", answer(404, "not found"), { type: "permanent" }],
    ["HTTP 302", answer(302, ""), { type: "permanent" }],
  ])("%s", (_, result, expected) => {
    expect(dingTalkOutcome(result, now)).toMatchObject(expected)
  })

  test("errors quote DingTalk's errmsg", () => {
    const out = dingTalkOutcome(answer(200, { errcode: 310000, errmsg: "keywords not in content" }), now)
    expect(out).toMatchObject({ error: expect.stringContaining("errcode 310000 (keywords not in content)") })
  })
})
