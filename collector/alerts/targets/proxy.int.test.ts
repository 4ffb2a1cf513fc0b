import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { freePort } from "../../../test/harness/ports.ts"
import { type AlertTargetConfig, createTarget } from "./config.ts"
import { fakeChat, testMessage } from "./test-fixture.ts"

setDefaultTimeout(20_000)

/** A forwarding HTTP proxy for plain http targets: it gets the absolute URL and passes the request on. */
function forwardingProxy() {
  const seen: string[] = []
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      seen.push(`${request.method} ${request.url}`)
      const headers = new Headers(request.headers)
      headers.set("via", "1.1 test-proxy")
      // proxy: false, so that this hop goes straight to the target whatever HTTP_PROXY says
      return fetch(request.url, { method: request.method, headers, body: await request.text(), proxy: false })
    },
  })
  return {
    url: `http://127.0.0.1:${server.port}`,
    seen,
    async [Symbol.asyncDispose]() {
      await server.stop(true)
    },
  }
}

describe("targets through a proxy", () => {
  test.each<[string, (url: string, proxy: string) => AlertTargetConfig, (body: string) => void]>([
    [
      "dingtalk",
      (url, proxy) => ({
        type: "dingtalk",
        name: "d",
        url,
        access_token: "tok",
        secret: "SECx",
        proxy,
        timeout_s: 5,
      }),
      (body) => expect(JSON.parse(body)).toMatchObject({ msgtype: "markdown" }),
    ],
    [
      "slack",
      (url, proxy) => ({ type: "slack", name: "s", url, proxy, timeout_s: 5 }),
      (body) => expect(JSON.parse(body).text).toContain("nginx"),
    ],
    [
      "webhook",
      (url, proxy) => ({ type: "webhook", name: "w", url, proxy, timeout_s: 5, per_minute: 60 }),
      (body) => expect(JSON.parse(body)).toMatchObject({ version: "4" }),
    ],
  ])("%s: the request goes through the configured proxy", async (_, config, checkBody) => {
    await using chat = fakeChat("/robot/send")
    await using proxy = forwardingProxy()
    chat.answer = () => Response.json({ errcode: 0, errmsg: "ok" })
    const target = createTarget(config(chat.url, proxy.url))
    expect(await target.send(testMessage())).toEqual({ type: "sent" })
    expect(proxy.seen).toHaveLength(1)
    expect(proxy.seen[0]).toStartWith(`POST ${chat.url}`)
    expect(chat.seen).toHaveLength(1)
    expect(chat.seen[0]?.headers.get("via")).toBe("1.1 test-proxy")
    checkBody(chat.seen[0]?.body ?? "")
  })

  test("a proxy that is down: retry", async () => {
    await using chat = fakeChat()
    const proxy = `http://127.0.0.1:${await freePort()}`
    const target = createTarget({ type: "slack", name: "s", url: chat.url, proxy, timeout_s: 5 })
    expect(await target.send(testMessage())).toEqual({
      type: "retry",
      error: `connection refused (via proxy ${new URL(proxy).host})`,
    })
    expect(chat.seen).toHaveLength(0)
  })
})
