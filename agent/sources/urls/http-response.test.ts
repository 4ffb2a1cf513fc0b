import { describe, expect, test } from "bun:test"
import { ResponseParseError, ResponseParser } from "./http-response.ts"

/** Feeds `text` in pieces of `step` bytes; returns the parser and whether it completed before the close. */
function parse(
  text: string,
  step = text.length,
  options: { head?: boolean; max?: number; close?: boolean } = {},
) {
  const p = new ResponseParser(options.head ?? false, options.max ?? 1024)
  const bytes = Buffer.from(text, "latin1")
  for (let i = 0; i < bytes.length && !p.done; i += step) p.feed(bytes.subarray(i, i + step))
  const before = p.done
  if (options.close) p.end()
  return { p, before, body: Buffer.from(p.body().bytes).toString("latin1") }
}

const chunked =
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"

describe("ResponseParser", () => {
  test.each([1, 2, 3, 7, 1000])("chunked, fed %i byte(s) at a time", (step) => {
    const { p, before, body } = parse(chunked, step)
    expect(before).toBe(true)
    expect(p.head?.status).toBe(200)
    expect(body).toBe("hello, world")
    expect(p.bytes).toBe(12)
  })

  test.each([1, 5, 1000])("Content-Length, fed %i byte(s) at a time; bytes after it ignored", (step) => {
    const { p, before, body } = parse(
      "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nX-A: 1\r\nx-a: 2\r\n\r\nnopeEXTRA",
      step,
    )
    expect(before).toBe(true)
    expect(body).toBe("nope")
    expect(p.head?.headers.get("x-a")).toBe("1, 2")
  })

  test("no length: the body runs to the close", () => {
    const open = parse("HTTP/1.0 200 OK\r\n\r\nuntil the end")
    expect(open.before).toBe(false)
    expect(open.p.end()).toBe(true)
    expect(open.body).toBe("until the end")
  })

  test("a close before Content-Length is reached is not complete", () => {
    const { p } = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    expect(p.end()).toBe(false)
    expect(p.bytes).toBe(3)
  })

  test("a close inside the chunks is not complete", () => {
    const { p } = parse(chunked.slice(0, 60))
    expect(p.done).toBe(false)
    expect(p.end()).toBe(false)
  })

  test("1xx interim responses are skipped", () => {
    const { p, body } = parse(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
    )
    expect(p.head?.status).toBe(201)
    expect(body).toBe("ok")
  })

  test.each([
    ["HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", true],
    ["204", "HTTP/1.1 204 No Content\r\nContent-Length: 50\r\n\r\n", false],
    ["304", "HTTP/1.1 304 Not Modified\r\n\r\n", false],
  ])("%s has no body", (_what, text, head) => {
    const { p, before } = parse(text, text.length, { head })
    expect(before).toBe(true)
    expect(p.bytes).toBe(0)
  })

  test("keeps at most max bytes, counts all", () => {
    const { p, body } = parse(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${"x".repeat(100)}`, 7, {
      max: 10,
    })
    expect(p.done).toBe(true)
    expect(body).toBe("x".repeat(10))
    expect(p.bytes).toBe(100)
    expect(p.body().truncated).toBe(true)
  })

  test.each([
    ["not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x response"],
    ["a bad header", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "bad header line"],
    [
      "a bad chunk size",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "bad chunk size line",
    ],
    [
      "a chunk longer than its size",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
      "chunk data longer",
    ],
    [
      "conflicting lengths",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "bad Content-Length",
    ],
    ["headers without end", `HTTP/1.1 200 OK\r\nX: ${"y".repeat(70_000)}`, "response headers too large"],
  ])("refuses %s", (_what, text, message) => {
    expect(() => parse(text)).toThrow(ResponseParseError)
    expect(() => parse(text)).toThrow(message)
  })
})
