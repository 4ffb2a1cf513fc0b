import { describe, expect, test } from "bun:test"
import type { SourceStatus } from "../sources/source.ts"
import { type AgentHttpView, createAgentHttpHandler, isLoopbackAddress, isLoopbackHost } from "./handler.ts"
import { createAgentStatus, PUBLISH_FAILING_MS } from "./status.ts"

const T0 = Date.parse("2030-01-02T03:04:05.000Z")

function setup(read: SourceStatus = { patterns: [], files: [] }) {
  let t = T0
  const status = createAgentStatus({ sources: ["web"], now: () => t })
  const view: AgentHttpView = {
    agent: "edge-1",
    version: "9.9.9",
    startedAt: T0,
    status,
    sources: () => [{ name: "web", read }],
    metrics: () => "# HELP x y\n# TYPE x gauge\nx 1\n",
  }
  const handle = createAgentHttpHandler(view, { loopbackOnly: true })
  const get = (path: string, host = "127.0.0.1:4406") =>
    handle(new Request(`http://${host}${path}`, { headers: { host } }))
  return {
    status,
    get,
    handle,
    advance: (ms: number) => {
      t += ms
    },
  }
}

const connected = { connected: true, since: T0, server: "127.0.0.1:4222" }

describe("/health", () => {
  test("200 ok once connected and the sources run", async () => {
    const { status, get } = setup()
    status.setNats(connected)
    status.setSource("web", { state: "running" })
    const res = await get("/health")
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: "ok" })
  })

  test.each([
    [
      "waiting for NATS at start",
      (s: ReturnType<typeof setup>) =>
        s.status.setNats({ connected: false, since: T0, reason: "connection refused", attempts: 3 }),
      ["nats: not connected since 2030-01-02T03:04:05.000Z (connection refused, 3 attempts)"],
    ],
    [
      "NATS lost after it was up",
      (s: ReturnType<typeof setup>) => {
        s.status.setSource("web", { state: "running" })
        s.status.setNats({
          connected: false,
          since: T0,
          server: "10.0.0.1:4222",
          reason: "connection closed",
        })
      },
      ["nats: not connected to 10.0.0.1:4222 since 2030-01-02T03:04:05.000Z (connection closed)"],
    ],
    [
      "publishing failing for longer than PUBLISH_FAILING_MS",
      (s: ReturnType<typeof setup>) => {
        s.status.setNats(connected)
        s.status.setSource("web", { state: "running" })
        s.status.published(T0 - 5000)
        s.status.publishFailed(T0)
        s.advance(PUBLISH_FAILING_MS + 10_000)
      },
      ["publish: failing for 40 s (last success 2030-01-02T03:04:00.000Z)"],
    ],
    [
      "a source stopped by an error",
      (s: ReturnType<typeof setup>) => {
        s.status.setNats(connected)
        s.status.setSource("web", { state: "failed", error: "EMFILE: too many open files" })
      },
      ["logs[web]: stopped by an error: EMFILE: too many open files"],
    ],
  ])("503 with the problem: %s", async (_what, arrange, problems) => {
    const s = setup()
    arrange(s)
    const res = await s.get("/health")
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ status: "degraded", problems })
  })

  test("a publish that failed briefly and then went through is no problem", async () => {
    const s = setup()
    s.status.setNats(connected)
    s.status.setSource("web", { state: "running" })
    s.status.publishFailed(T0)
    s.advance(PUBLISH_FAILING_MS - 1)
    expect((await s.get("/health")).status).toBe(200)
    s.status.published()
    s.advance(PUBLISH_FAILING_MS)
    expect((await s.get("/health")).status).toBe(200)
  })

  test("answers whatever the Host header (a load balancer's check)", async () => {
    const { get } = setup()
    expect((await get("/health", "agent.example:4406")).status).toBe(503)
  })
})

describe("other routes", () => {
  const read: SourceStatus = {
    patterns: [{ pattern: "/var/log/<x>/*.log", files: 1 }],
    files: [
      {
        source: "web",
        path: "/var/log/<x>/a.log",
        gen: "0123456789abcdef",
        state: "active",
        position: 10,
        acked: 8,
        size: 30,
        behind: 20,
      },
    ],
  }

  test("/metrics is Prometheus text", async () => {
    const res = await setup().get("/metrics")
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4")
    expect(await res.text()).toBe("# HELP x y\n# TYPE x gauge\nx 1\n")
  })

  test("/status is JSON with every file", async () => {
    const s = setup(read)
    s.status.setNats(connected)
    s.status.setSource("web", { state: "running" })
    const body = await (await s.get("/status")).json()
    expect(body).toMatchObject({
      agent: "edge-1",
      version: "9.9.9",
      problems: [],
      nats: { connected: true, server: "127.0.0.1:4222", reason: null },
      last_publish_at: null,
      sources: [
        {
          name: "web",
          state: "running",
          patterns: read.patterns,
          files: [{ path: "/var/log/<x>/a.log", gen: "0123456789abcdef", position: 10, behind: 20 }],
        },
      ],
    })
  })

  test("/ is an HTML page listing the files, with paths escaped", async () => {
    const res = await setup(read).get("/")
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8")
    const html = await res.text()
    expect(html).toContain("<code>/var/log/&#60;x&#62;/a.log</code>")
    expect(html).not.toContain("<x>")
    expect(html).toContain("<td>active</td><td>10</td><td>8</td><td>30</td>")
    expect(html).toContain("nats: not connected")
  })

  test("a Host that is not loopback gets 403 (DNS rebinding); unknown paths 404; POST 405", async () => {
    const s = setup(read)
    expect((await s.get("/status", "evil.example")).status).toBe(403)
    expect((await s.get("/metrics", "localhost:4406")).status).toBe(200)
    expect((await s.get("/nope")).status).toBe(404)
    const post = await s.handle(new Request("http://127.0.0.1:4406/health", { method: "POST" }))
    expect(post.status).toBe(405)
    expect(post.headers.get("allow")).toBe("GET, HEAD")
  })
})

test.each([
  ["localhost", true],
  ["localhost:4406", true],
  ["127.0.0.1:4406", true],
  ["127.1.2.3", true],
  ["[::1]:4406", true],
  ["app.localhost", true],
  ["evil.example", false],
  ["127.0.0.1.evil.example", false],
  ["10.0.0.1:4406", false],
])("isLoopbackHost(%p) = %p", (host, loopback) => {
  expect(isLoopbackHost(host)).toBe(loopback)
})

test.each([
  ["127.0.0.1", true],
  ["::1", true],
  ["localhost", true],
  ["0.0.0.0", false],
  ["::", false],
  ["192.168.1.5", false],
])("isLoopbackAddress(%p) = %p", (host, loopback) => {
  expect(isLoopbackAddress(host)).toBe(loopback)
})
