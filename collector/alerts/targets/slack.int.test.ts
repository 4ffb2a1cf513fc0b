import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { freePort } from "../../../test/harness/ports.ts"
import { createSlackTarget } from "./slack.ts"
import { fakeChat, slowAnswer, testMessage } from "./test-fixture.ts"

setDefaultTimeout(20_000)

const NOW = 1_700_000_000_000
const target = (url: string, timeoutMs = 5_000) =>
  createSlackTarget({ name: "ops", url, timeoutMs, now: () => NOW })

describe("Slack target against a local webhook", () => {
  test("200 ok: sent, as JSON with the mrkdwn text", async () => {
    await using slack = fakeChat("/services/T000/B000/XXXX")
    expect(await target(slack.url).send(testMessage())).toEqual({ type: "sent" })
    const body = JSON.parse(slack.seen[0]?.body ?? "")
    expect(Object.keys(body)).toEqual(["text"])
    expect(body.text).toContain("*[FIRING] nginx 5xx on edge*")
  })

  test("429 with Retry-After: 7: throttled until now + 7 s", async () => {
    await using slack = fakeChat()
    slack.answer = () => new Response("rate_limited", { status: 429, headers: { "retry-after": "7" } })
    expect(await target(slack.url).send(testMessage())).toEqual({
      type: "throttled",
      error: "HTTP 429: rate_limited",
      untilMs: NOW + 7000,
    })
  })

  test("410 channel_is_archived: permanent, with Slack's words", async () => {
    await using slack = fakeChat()
    slack.answer = () => new Response("channel_is_archived", { status: 410 })
    expect(await target(slack.url).send(testMessage())).toEqual({
      type: "permanent",
      error: "HTTP 410: channel_is_archived",
    })
  })

  test("5xx: retry", async () => {
    await using slack = fakeChat()
    slack.answer = () => new Response("upstream", { status: 502 })
    expect(await target(slack.url).send(testMessage())).toMatchObject({ type: "retry" })
  })

  test("slow: retry, timed out", async () => {
    await using slack = fakeChat()
    slack.answer = () => slowAnswer(5_000)
    expect(await target(slack.url, 300).send(testMessage())).toEqual({
      type: "retry",
      error: "timed out after 0.3 s",
    })
  })

  test("a closed port: retry, and the webhook URL (a credential) is not in the error", async () => {
    const url = `http://127.0.0.1:${await freePort()}/services/T000/B000/SECRET`
    const out = await target(url).send(testMessage())
    expect(out).toEqual({ type: "retry", error: "connection refused" })
  })
})
