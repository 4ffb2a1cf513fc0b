import type { AlertMessage } from "./types.ts"

/** A firing message with two lines; override what a test is about. */
export function testMessage(overrides: Partial<AlertMessage> = {}): AlertMessage {
  return {
    key: "grp-7f3a:1",
    title: "nginx 5xx on edge",
    status: "firing",
    severity: "critical",
    labels: { rule: "nginx-5xx", agent: "edge-1" },
    count: 12,
    lines: [
      {
        text: "GET /api 502 upstream timed out",
        agent: "edge-1",
        file: "/var/log/nginx/error.log",
        offset: 1024,
      },
      {
        text: "GET /api 504 gateway timeout",
        agent: "edge-1",
        file: "/var/log/nginx/error.log",
        offset: 2048,
      },
    ],
    link: "http://127.0.0.1:4480/preview/grp-7f3a",
    startsAt: 1_700_000_000_000,
    ...overrides,
  }
}

/** What a fake chat server saw of one request. */
export type SeenRequest = { method: string; url: URL; headers: Headers; body: string }

/** A chat API played by a local server: `answer` decides each response; `seen` records every request. */
export type FakeChat = {
  url: string
  seen: SeenRequest[]
  answer: (request: SeenRequest) => Response | Promise<Response>
  [Symbol.asyncDispose](): Promise<void>
}

/** Starts a fake chat server on 127.0.0.1 and a free port; dispose it with `await using`. */
export function fakeChat(path = "/"): FakeChat {
  const chat: FakeChat = {
    url: "",
    seen: [],
    answer: () => new Response("ok"),
    async [Symbol.asyncDispose]() {
      await server.stop(true)
    },
  }
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const seen = { method: request.method, url: new URL(request.url), headers: request.headers, body: "" }
      seen.body = await request.text()
      chat.seen.push(seen)
      return chat.answer(seen)
    },
  })
  chat.url = `http://127.0.0.1:${server.port}${path}`
  return chat
}

/** A response after `ms`, unless the server is stopped first. */
export async function slowAnswer(ms: number): Promise<Response> {
  await Bun.sleep(ms)
  return new Response("late")
}
