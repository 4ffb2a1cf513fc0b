import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { freePort } from "../../../test/harness/ports.ts"
import { fakeChat, slowAnswer, testMessage } from "./test-fixture.ts"
import { createWebhookTarget } from "./webhook.ts"

setDefaultTimeout(20_000)

const target = (url: string, timeoutMs = 5_000) =>
  createWebhookTarget({ name: "hooks", url, headers: { Authorization: "Bearer t0ken" }, timeoutMs })

describe("webhook target against a local receiver", () => {
  test("2xx: sent, with the configured headers and the key as Idempotency-Key", async () => {
    await using hook = fakeChat("/alerts")
    hook.answer = () => new Response(null, { status: 202 })
    expect(await target(hook.url).send(testMessage())).toEqual({ type: "sent" })
    const [seen] = hook.seen
    expect(seen?.headers.get("authorization")).toBe("Bearer t0ken")
    expect(seen?.headers.get("idempotency-key")).toBe("grp-7f3a:1")
    expect(JSON.parse(seen?.body ?? "")).toMatchObject({
      version: "4",
      receiver: "hooks",
      outpost: { count: 12 },
    })
  })

  test.each([
    ["429 with Retry-After", 429, { "retry-after": "3" }, { type: "retry", afterMs: 3000 }],
    ["503", 503, {}, { type: "retry", error: "HTTP 503: nope" }],
    ["401", 401, {}, { type: "permanent", error: "HTTP 401: nope" }],
    ["422", 422, {}, { type: "permanent" }],
    ["301: not followed", 301, { location: "http://127.0.0.1:1/" }, { type: "permanent" }],
  ])("%s", async (_, status, headers, expected) => {
    await using hook = fakeChat()
    hook.answer = () => new Response("nope", { status, headers })
    expect(await target(hook.url).send(testMessage())).toMatchObject(expected)
    expect(hook.seen).toHaveLength(1)
  })

  test("slow: retry, timed out", async () => {
    await using hook = fakeChat()
    hook.answer = () => slowAnswer(5_000)
    expect(await target(hook.url, 250).send(testMessage())).toEqual({
      type: "retry",
      error: "timed out after 0.25 s",
    })
  })

  test("a closed port: retry", async () => {
    const out = await target(`http://127.0.0.1:${await freePort()}/`).send(testMessage())
    expect(out).toEqual({ type: "retry", error: "connection refused" })
  })
})
