import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { gzipSync } from "node:zlib"
import { checkUrlResult } from "../../../shared/protocol/urls/result.ts"
import { freePort, tempDir } from "../../../test/harness/index.ts"
import { resolveUrlCheck, runUrlCheck, type UrlResultDraft } from "./check.ts"
import type { UrlCheckConfig } from "./schema.ts"
import {
  hangingServer,
  type KeyPair,
  makeCertificates,
  rawServer,
  resettingServer,
  type TestCertificates,
  testCheck,
} from "./test-support.ts"

setDefaultTimeout(60_000)

const dir = tempDir("outpost-urls-")
let certs: TestCertificates
let http: ReturnType<typeof Bun.serve>
const https: Record<string, ReturnType<typeof Bun.serve>> = {}
const closers: (() => Promise<void> | void)[] = []

// The sleeps below are the server's behaviour under test (slow answers, a body written in pieces, slow
// redirect hops), not waits of the test: the probe measures them.
/** what each request to /see-other was */
const seeOther: string[] = []
const app = async (req: Request): Promise<Response> => {
  const url = new URL(req.url)
  const [, first, arg] = url.pathname.split("/")
  switch (first) {
    case "ok":
      return new Response("hello ok")
    case "500":
      return new Response("broken", { status: 500 })
    case "json":
      return Response.json({ status: "ok", data: [{ id: 1, name: "a" }] })
    case "slow":
      await Bun.sleep(Number(arg))
      return new Response("late but fine")
    case "chunked":
      return new Response(
        new ReadableStream({
          async start(c) {
            for (const part of ["first ", "second ", "third"]) {
              c.enqueue(new TextEncoder().encode(part))
              await Bun.sleep(5)
            }
            c.close()
          },
        }),
      )
    case "r": // /r/3 -> /r/2 -> /r/1 -> /r/0, relative Locations
      return Number(arg) > 0
        ? new Response(null, { status: 301, headers: { location: String(Number(arg) - 1) } })
        : new Response("landed")
    case "slowr": // each hop answers after 50 ms
      await Bun.sleep(50)
      return Number(arg) > 0
        ? new Response(null, { status: 302, headers: { location: `/slowr/${Number(arg) - 1}` } })
        : new Response("landed slowly")
    case "away": // to another port
      return new Response(null, { status: 302, headers: { location: `http://127.0.0.1:${arg}/` } })
    case "echo":
      return new Response(`${req.method} ${await req.text()} ${req.headers.get("x-test") ?? "-"}`)
    case "see-other":
      seeOther.push(`${req.method} ${await req.text()}`)
      return new Response(null, { status: 303, headers: { location: "/echo" } })
    case "big":
      return new Response(`${"a".repeat(2 * 1024 * 1024)}END`)
    case "gzip":
      return new Response(gzipSync("compressed hello"), { headers: { "content-encoding": "gzip" } })
    default:
      return new Response("not found", { status: 404 })
  }
}

const serveTls = (pair: KeyPair) =>
  Bun.serve({ port: 0, hostname: "127.0.0.1", tls: pair, fetch: () => new Response("secure hello") })

beforeAll(() => {
  certs = makeCertificates(dir.path)
  http = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app })
  for (const name of ["valid", "expiring", "expired", "wrongName", "selfSigned"] as const) {
    https[name] = serveTls(certs[name])
  }
})

afterAll(async () => {
  http.stop(true)
  for (const s of Object.values(https)) s.stop(true)
  for (const close of closers) await close()
  await dir[Symbol.asyncDispose]()
})

const base = () => `http://127.0.0.1:${http.port}`
const secure = (name: string) => `https://127.0.0.1:${https[name]?.port}/`

async function check(fields: Partial<UrlCheckConfig> & Pick<UrlCheckConfig, "url">): Promise<UrlResultDraft> {
  const result = await runUrlCheck(resolveUrlCheck(testCheck(fields)), new AbortController().signal, Date.now)
  // every result is a valid `urls` entry once the outbox gives it an id
  expect(checkUrlResult({ ...result, id: 1 })).toBeUndefined()
  return result
}

const phaseSum = (r: UrlResultDraft) =>
  ["dns_ms", "connect_ms", "tls_ms", "first_byte_ms", "transfer_ms"]
    .map((k) => r.timings[k as keyof typeof r.timings] ?? 0)
    .reduce((a, b) => a + b, 0)

describe("outcomes and reasons from real servers", () => {
  test("200: up, phases measured, dns and tls null for http to an IP literal", async () => {
    const r = await check({ url: `${base()}/ok`, body_contains: ["hello"] })
    expect(r).toMatchObject({
      outcome: "up",
      reason: null,
      message: null,
      status: 200,
      bytes: 8,
      redirects: 0,
    })
    expect(r.timings.dns_ms).toBeNull()
    expect(r.timings.tls_ms).toBeNull()
    expect(r.cert_expires_at).toBeNull()
    for (const k of ["connect_ms", "first_byte_ms", "transfer_ms"] as const) {
      expect(r.timings[k]).toBeGreaterThanOrEqual(0)
      expect(r.timings[k]).toBeLessThan(1000)
    }
    expect(r.timings.total_ms).toBeGreaterThanOrEqual(phaseSum(r))
  })

  test("a host name is looked up: dns_ms measured", async () => {
    const r = await check({ url: `http://localhost:${http.port}/ok` })
    expect(r.outcome).toBe("up")
    expect(r.timings.dns_ms).toBeGreaterThanOrEqual(0)
    expect(r.timings.total_ms).toBeGreaterThanOrEqual(phaseSum(r))
  })

  test("500: down, status", async () => {
    const r = await check({ url: `${base()}/500` })
    expect(r).toMatchObject({
      outcome: "down",
      reason: "status",
      status: 500,
      message: "status 500 not in 200-399",
    })
    expect((await check({ url: `${base()}/500`, expect_status: [500] })).outcome).toBe("up")
  })

  test.each([
    ["a missing substring", { body_contains: ["goodbye"] }, 'body does not contain "goodbye"'],
    ["a regex", { body_regex: ["^hello [0-9]+$"] }, "body does not match /^hello [0-9]+$/"],
    [
      "a JSON path on a non-JSON body",
      { json_path_equals: { status: "ok" } },
      "body is not JSON (json_path_equals)",
    ],
  ])("body: %s", async (_what, fields, message) => {
    expect(await check({ url: `${base()}/ok`, ...fields })).toMatchObject({
      outcome: "down",
      reason: "body",
      message,
    })
  })

  test("body: JSON paths", async () => {
    const url = `${base()}/json`
    expect((await check({ url, json_path_equals: { status: "ok", "data[0].id": 1 } })).outcome).toBe("up")
    expect(await check({ url, json_path_equals: { "data[0].id": 2 } })).toMatchObject({
      reason: "body",
      message: 'body data[0].id is "1", expected "2"',
    })
    expect((await check({ url, json_path_equals: { "data[3].id": 1 } })).message).toBe(
      "body has no data[3].id",
    )
  })

  test("slow: over max_latency_ms but under the timeout is degraded", async () => {
    const r = await check({ url: `${base()}/slow/300`, max_latency_ms: 100, timeout_s: 2 })
    expect(r).toMatchObject({ outcome: "degraded", reason: "slow", status: 200 })
    expect(r.message).toMatch(/^took 3\d\d ms, over max_latency_ms 100$/)
    expect(r.timings.first_byte_ms).toBeGreaterThanOrEqual(290)
  })

  test("timeout: a server that never answers; the phases reached are measured, the rest null", async () => {
    const server = await hangingServer()
    closers.push(server.close)
    const r = await check({ url: server.url, timeout_s: 0.3 })
    expect(r).toMatchObject({ outcome: "down", reason: "timeout", status: null, bytes: 0 })
    expect(r.message).toBe("no complete response within 0.3 s (waiting for the first byte)")
    expect(r.timings.connect_ms).toBeGreaterThanOrEqual(0)
    expect(r.timings.first_byte_ms).toBeNull()
    expect(r.timings.transfer_ms).toBeNull()
    expect(r.timings.total_ms).toBeGreaterThanOrEqual(295)
    expect(r.timings.total_ms).toBeLessThan(1000)
  })

  test("refused: a closed port", async () => {
    const port = await freePort()
    const r = await check({ url: `http://127.0.0.1:${port}/` })
    expect(r).toMatchObject({ outcome: "down", reason: "refused", status: null })
    expect(r.message).toBe(`connection refused by 127.0.0.1:${port}`)
    expect(r.timings.connect_ms).toBeNull()
  })

  test("reset: the server drops the connection mid-response", async () => {
    const server = await resettingServer()
    closers.push(server.close)
    const r = await check({ url: server.url })
    expect(r).toMatchObject({ outcome: "down", reason: "reset", status: null })
    expect(r.message).toContain("connection closed before the full response")
    expect(r.timings.first_byte_ms).toBeGreaterThanOrEqual(0)
  })

  test("dns: a name under .invalid", async () => {
    const r = await check({ url: "http://no-such-host.invalid/" })
    expect(r).toMatchObject({ outcome: "down", reason: "dns", status: null })
    expect(r.message).toMatch(/^cannot resolve no-such-host\.invalid: /)
    expect(r.timings.connect_ms).toBeNull()
  })

  test("malformed response: error", async () => {
    const server = await rawServer((s) => s.once("data", () => s.end("SSH-2.0-OpenSSH_9.6\r\n\r\n")))
    closers.push(server.close)
    const r = await check({ url: server.url })
    expect(r).toMatchObject({ outcome: "down", reason: "error" })
    expect(r.message).toStartWith("bad response: not an HTTP/1.x response")
  })
})

describe("TLS", () => {
  test("a trusted certificate: up, tls_ms measured, cert_expires_at its notAfter", async () => {
    const r = await check({ url: secure("valid"), ca_file: certs.caFile })
    expect(r).toMatchObject({ outcome: "up", status: 200 })
    expect(r.timings.tls_ms).toBeGreaterThan(0)
    expect(r.timings.total_ms).toBeGreaterThanOrEqual(phaseSum(r))
    const days = ((r.cert_expires_at ?? 0) - Date.now()) / 86_400_000
    expect(days).toBeGreaterThan(89)
    expect(days).toBeLessThan(91)
  })

  test("expiring in 3 days with warn 14: degraded, cert_expiring", async () => {
    const r = await check({ url: secure("expiring"), ca_file: certs.caFile })
    expect(r).toMatchObject({ outcome: "degraded", reason: "cert_expiring", status: 200 })
    expect(r.message).toMatch(/^certificate expires in (2\.9|3\.0) days \(\d{4}-\d\d-\d\d\)$/)
    expect(
      (await check({ url: secure("expiring"), ca_file: certs.caFile, cert_expiry_warn_days: 2 })).outcome,
    ).toBe("up")
  })

  test("cert_expiring comes first; slow is named too", async () => {
    const r = await check({ url: secure("expiring"), ca_file: certs.caFile, max_latency_ms: 0.001 })
    expect(r.reason).toBe("cert_expiring")
    expect(r.message).toMatch(/; also took \d+ ms, over max_latency_ms 0.001$/)
  })

  test.each([
    ["self-signed", "selfSigned", false, /DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED/],
    ["expired", "expired", true, /CERT_HAS_EXPIRED/],
    ["for another name", "wrongName", true, /ERR_TLS_CERT_ALTNAME_INVALID/],
    ["from a CA not trusted", "valid", false, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER/],
  ])("a certificate %s: down, tls, nothing sent", async (_what, name, trustCa, message) => {
    const r = await check({ url: secure(name), ...(trustCa ? { ca_file: certs.caFile } : {}) })
    expect(r).toMatchObject({ outcome: "down", reason: "tls", status: null, bytes: 0 })
    expect(r.message).toMatch(message)
    expect(r.timings.first_byte_ms).toBeNull()
    expect(r.cert_expires_at).not.toBeNull()
  })

  test("an expired certificate still reports when it expired", async () => {
    const r = await check({ url: secure("expired"), ca_file: certs.caFile })
    expect(r.cert_expires_at).toBe(Date.UTC(2020, 1, 1))
  })

  test("TLS to a plain HTTP server: tls", async () => {
    const r = await check({ url: `https://127.0.0.1:${http.port}/ok` })
    expect(r).toMatchObject({ outcome: "down", reason: "tls" })
  })
})

describe("HTTP framing and redirects", () => {
  test("chunked transfer-encoding", async () => {
    const r = await check({ url: `${base()}/chunked`, body_contains: ["first second third"] })
    expect(r).toMatchObject({ outcome: "up", bytes: 18 })
  })

  test("301 x3 with relative Locations: followed, counted", async () => {
    const r = await check({ url: `${base()}/r/3`, body_contains: ["landed"] })
    expect(r).toMatchObject({ outcome: "up", status: 200, redirects: 3 })
  })

  test("phases are summed over redirects", async () => {
    // each of the 3 responses waits 50 ms before its first byte
    const r = await check({ url: `${base()}/slowr/2` })
    expect(r).toMatchObject({ outcome: "up", redirects: 2 })
    expect(r.timings.first_byte_ms).toBeGreaterThanOrEqual(145)
    expect(r.timings.total_ms).toBeGreaterThanOrEqual(phaseSum(r))
  })

  test("more redirects than max_redirects: down, status, the last 3xx kept", async () => {
    const r = await check({ url: `${base()}/r/9`, max_redirects: 2 })
    expect(r).toMatchObject({ outcome: "down", reason: "status", status: 301, redirects: 2 })
    expect(r.message).toBe(`stopped after 2 redirects: 301 to ${base()}/r/6`)
  })

  test("a redirect to a closed port: refused, naming where it went", async () => {
    const port = await freePort()
    const r = await check({ url: `${base()}/away/${port}` })
    expect(r).toMatchObject({ outcome: "down", reason: "refused", status: 302, redirects: 1 })
    expect(r.message).toBe(`connection refused by 127.0.0.1:${port}`)
  })

  test("follow_redirects = false: the 3xx itself is judged", async () => {
    expect(await check({ url: `${base()}/r/1`, follow_redirects: false })).toMatchObject({
      outcome: "up",
      status: 301,
      redirects: 0,
    })
    expect(
      (await check({ url: `${base()}/r/1`, follow_redirects: false, expect_status: ["200-299"] })).reason,
    ).toBe("status")
  })

  test("method, body and headers are sent; 303 continues as GET", async () => {
    const fields = { method: "POST" as const, body: "ping", headers: { "X-Test": "yes" } }
    expect(await check({ url: `${base()}/echo`, ...fields, body_contains: ["POST ping yes"] })).toMatchObject(
      {
        outcome: "up",
      },
    )
    expect(await check({ url: `${base()}/see-other`, ...fields, body_contains: ["GET  yes"] })).toMatchObject(
      {
        outcome: "up",
        redirects: 1,
      },
    )
  })

  test("a check run again sends its first request again, whatever its redirects did", async () => {
    const resolved = resolveUrlCheck(
      testCheck({ url: `${base()}/see-other`, method: "POST", body: "ping", body_contains: ["GET  -"] }),
    )
    seeOther.length = 0
    for (let run = 0; run < 3; run++) {
      const result = await runUrlCheck(resolved, new AbortController().signal, Date.now)
      expect(result).toMatchObject({ outcome: "up", redirects: 1 })
    }
    expect(seeOther).toEqual(["POST ping", "POST ping", "POST ping"])
  })

  test("HEAD: no body expected", async () => {
    expect(await check({ url: `${base()}/ok`, method: "HEAD" })).toMatchObject({ outcome: "up", bytes: 0 })
  })

  test("a body over 1 MiB is counted, conditions see its first 1 MiB", async () => {
    const r = await check({ url: `${base()}/big`, body_contains: ["END"] })
    expect(r).toMatchObject({ outcome: "down", reason: "body", bytes: 2 * 1024 * 1024 + 3 })
    expect(r.message).toBe('body does not contain "END" (in its first 1048576 bytes)')
  })

  test("a compressed body (sent though not asked for) is decoded for conditions", async () => {
    expect((await check({ url: `${base()}/gzip`, body_contains: ["compressed hello"] })).outcome).toBe("up")
  })

  test("a response delimited by the connection's close", async () => {
    const server = await rawServer((s) => s.once("data", () => s.end("HTTP/1.0 200 OK\r\n\r\nuntil close")))
    closers.push(server.close)
    expect(await check({ url: server.url, body_contains: ["until close"] })).toMatchObject({
      outcome: "up",
      bytes: 11,
    })
  })
})

describe("type = tcp", () => {
  test("an open port is up (dns and connect only); a closed one refused", async () => {
    const up = await check({ type: "tcp", url: `127.0.0.1:${http.port}` })
    expect(up).toMatchObject({ outcome: "up", status: null, bytes: 0 })
    expect(up.timings.connect_ms).toBeGreaterThanOrEqual(0)
    expect(up.timings.first_byte_ms).toBeNull()
    const down = await check({ type: "tcp", url: `tcp://127.0.0.1:${await freePort()}` })
    expect(down).toMatchObject({ outcome: "down", reason: "refused" })
  })
})
