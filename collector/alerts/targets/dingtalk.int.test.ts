import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { freePort } from "../../../test/harness/ports.ts"
import { createDingTalkTarget, type DingTalkOptions, signDingTalk } from "./dingtalk.ts"
import { fakeChat, type SeenRequest, slowAnswer, testMessage } from "./test-fixture.ts"

setDefaultTimeout(20_000)

const SECRET = "SEC000test"
const errcode = (code: number, errmsg: string) => Response.json({ errcode: code, errmsg })

/** A robot that checks what DingTalk checks: token, a timestamp within the hour, its sign. */
function robotAnswer(seen: SeenRequest, now: number): Response {
  const q = seen.url.searchParams
  if (q.get("access_token") !== "tok") return errcode(300001, "token is not exist")
  const timestamp = Number(q.get("timestamp"))
  if (Math.abs(now - timestamp) > 3_600_000 || q.get("sign") !== signDingTalk(timestamp, SECRET)) {
    return errcode(310000, "sign not match")
  }
  return errcode(0, "ok")
}

function target(url: string, extra: Partial<DingTalkOptions> = {}) {
  let clock = 1_700_000_000_000
  const t = createDingTalkTarget({
    name: "ops",
    url,
    accessToken: "tok",
    secret: SECRET,
    now: () => clock,
    ...extra,
  })
  return { t, tick: (ms: number) => (clock += ms), now: () => clock }
}

describe("DingTalk target against a local robot", () => {
  test("ok: a signed markdown message with msgUuid = the key", async () => {
    await using robot = fakeChat("/robot/send")
    const { t, now } = target(robot.url)
    robot.answer = (seen) => robotAnswer(seen, now())
    expect(await t.send(testMessage())).toEqual({ type: "sent" })
    const [seen] = robot.seen
    expect(seen?.method).toBe("POST")
    expect(seen?.headers.get("content-type")).toContain("application/json")
    const body = JSON.parse(seen?.body ?? "")
    expect(body).toMatchObject({ msgtype: "markdown", msgUuid: "grp-7f3a:1" })
    expect(body.markdown.title).toBe("[FIRING] nginx 5xx on edge")
    expect(body.markdown.text).toContain("GET /api 502 upstream timed out")
  })

  test("a wrong secret is refused with 310000: permanent", async () => {
    await using robot = fakeChat("/robot/send")
    const { t, now } = target(robot.url, { secret: "SECwrong" })
    robot.answer = (seen) => robotAnswer(seen, now())
    const out = await t.send(testMessage())
    expect(out).toMatchObject({
      type: "permanent",
      error: expect.stringContaining("errcode 310000 (sign not match)"),
    })
  })

  test("a wrong token (300001): permanent", async () => {
    await using robot = fakeChat("/robot/send")
    const { t, now } = target(robot.url, { accessToken: "nope" })
    robot.answer = (seen) => robotAnswer(seen, now())
    expect(await t.send(testMessage())).toMatchObject({ type: "permanent" })
  })

  test("130101 in a 200 body: throttled for 10 minutes", async () => {
    await using robot = fakeChat("/robot/send")
    const { t, now } = target(robot.url)
    robot.answer = () => errcode(130101, "send too fast, exceed 20 times per minute")
    expect(await t.send(testMessage())).toMatchObject({ type: "throttled", untilMs: now() + 600_000 })
  })

  test("a retry of the same message carries the same msgUuid, a fresh timestamp and sign", async () => {
    await using robot = fakeChat("/robot/send")
    const { t, now, tick } = target(robot.url)
    let calls = 0
    robot.answer = (seen) =>
      ++calls === 1 ? new Response("busy", { status: 503 }) : robotAnswer(seen, now())
    expect(await t.send(testMessage())).toMatchObject({ type: "retry", error: "HTTP 503: busy" })
    tick(90 * 60_000) // a timestamp signed for the first attempt would now be refused
    expect(await t.send(testMessage())).toEqual({ type: "sent" })
    const [first, second] = robot.seen.map((s) => ({ ...JSON.parse(s.body), q: s.url.searchParams }))
    expect(second.msgUuid).toBe(first.msgUuid)
    expect(second.q.get("timestamp")).not.toBe(first.q.get("timestamp"))
    expect(second.q.get("sign")).not.toBe(first.q.get("sign"))
  })

  test("a slow robot: retry, timed out", async () => {
    await using robot = fakeChat("/robot/send")
    robot.answer = () => slowAnswer(5_000)
    const { t } = target(robot.url, { timeoutMs: 200 })
    const started = performance.now()
    expect(await t.send(testMessage())).toEqual({ type: "retry", error: "timed out after 0.2 s" })
    expect(performance.now() - started).toBeLessThan(2_000)
  })

  test("the caller's abort ends the send: retry, aborted", async () => {
    await using robot = fakeChat("/robot/send")
    robot.answer = () => slowAnswer(5_000)
    const { t } = target(robot.url)
    const sending = t.send(testMessage(), AbortSignal.timeout(100))
    expect(await sending).toEqual({ type: "retry", error: "aborted" })
  })

  test("a closed port: retry, connection refused, the token not in the error", async () => {
    const { t } = target(`http://127.0.0.1:${await freePort()}/robot/send`)
    const out = await t.send(testMessage())
    expect(out).toEqual({ type: "retry", error: "connection refused" })
  })
})
