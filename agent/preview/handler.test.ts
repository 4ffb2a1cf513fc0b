import { describe, expect, test } from "bun:test"
import { readFileSync, renameSync, truncateSync, unlinkSync, writeFileSync } from "node:fs"
import { connect } from "node:net"
import { generateAgentKeyPair, loadPrivateKey, publicKeyFromRaw } from "../../shared/protocol/keys.ts"
import { type PreviewClaims, signPreviewToken } from "../../shared/protocol/preview-token.ts"
import { waitFor } from "../../test/harness/index.ts"
import { sandbox, type TestRun } from "../sources/logs/test-support.ts"
import type { PreviewBody } from "./body.ts"
import { createPreviewHandler } from "./handler.ts"
import { createLocator, GONE } from "./locate.ts"

const NOW = 1_700_000_000_000
const DAY = 86_400_000
function keys() {
  const pair = generateAgentKeyPair()
  return {
    privateKey: loadPrivateKey(pair.privateKeyPem).privateKey,
    publicKey: publicKeyFromRaw(pair.publicKeyRaw),
  }
}
const collector = keys()
const SECRET = "TOP-SECRET-NOT-A-SOURCE"

/** 300 lines of exactly 50 bytes, newline included: line i starts at byte 50 i. */
const CONTENT = Array.from(
  { length: 300 },
  (_, i) => `${`line ${String(i).padStart(5, "0")} `.padEnd(49, ".")}\n`,
).join("")
const LINE_150 = 150 * 50

/** A real logs source over app.log (and a secret file beside the sandbox's state that no source reads). */
async function setup(s: ReturnType<typeof sandbox>, content = CONTENT) {
  const log = s.file("app.log")
  writeFileSync(log, content)
  writeFileSync(s.file("secret.txt"), `${SECRET}\n`)
  const run: TestRun = s.start({ paths: [log] })
  await waitFor("read", () => s.rows()[0]?.position === content.length)
  const gen = s.rows()[0]?.gen ?? ""
  const locator = createLocator(s.db)
  const located: string[] = []
  let clock = NOW
  const handler = createPreviewHandler({
    agent: "edge-1",
    host: "web-3",
    publicKeys: [collector.publicKey],
    locate: (g, offset) => {
      located.push(g)
      return locator(g, offset)
    },
    now: () => clock,
  })
  const claims = (over: Partial<PreviewClaims> = {}): PreviewClaims => ({
    agent: "edge-1",
    gen,
    offset: LINE_150,
    expiresAt: NOW + DAY,
    at: NOW - 60_000,
    ...over,
  })
  const token = (over: Partial<PreviewClaims> = {}, key = collector.privateKey) =>
    signPreviewToken(claims(over), key)
  const setClock = (at: number) => {
    clock = at
  }
  const get = (target: string, method = "GET") =>
    handler(new Request(`http://agent.test${target}`, { method }))
  return { log, run, gen, handler, token, get, located, setClock }
}

async function expectJson(res: Response | null, status: number) {
  expect(res?.status).toBe(status)
  expect(res?.headers.get("content-type")).toBe("application/json")
  return (await res?.json()) as PreviewBody & { reason?: string }
}

describe("preview handler", () => {
  test("a signed link: the page around the match, safe headers, mobile-readable", async () => {
    await using s = sandbox()
    const t = await setup(s)
    const res = t.get(`/preview?t=${t.token()}`)
    expect(res?.status).toBe(200)
    expect(Object.fromEntries(res?.headers ?? [])).toMatchObject({
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff",
    })
    expect(res?.headers.get("content-security-policy")).toStartWith(
      "default-src 'none'; style-src 'unsafe-inline'",
    )
    const page = (await res?.text()) ?? ""
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">')
    expect(page).toContain("prefers-color-scheme:dark")
    expect(page).toContain(
      `<div class="l m" id=match><span class=o>${LINE_150}</span><span class=t>line 00150 `,
    )
    for (const fact of ["edge-1", "web-3", t.log, t.gen, `byte ${LINE_150}`, "2023-11-14 22:12:20 UTC"]) {
      expect(page).toContain(fact)
    }
    expect(page).not.toMatch(/<script|<link|<img|src=|href=/i) // nothing loaded, nothing run
    expect(page).not.toContain("rotated since")
  })

  test("/preview.json: the same data; the window is the file's bytes exactly", async () => {
    await using s = sandbox()
    const t = await setup(s)
    const body = await expectJson(t.get(`/preview.json?t=${t.token({ line_end: LINE_150 + 49 })}`), 200)
    if (body.status !== "ok") throw new Error(`expected ok, got ${body.status}`)
    // before: [3404, 7500) starts inside line 68, so line 69 first; after: [7550, 11646) ends inside line 232
    expect([body.window.start, body.window.end]).toEqual([69 * 50, 232 * 50])
    const lines = body.window.lines
    expect(`${lines.map((l) => l.text).join("\n")}\n`).toBe(CONTENT.slice(69 * 50, 232 * 50))
    expect(lines.filter((l) => l.matched).map((l) => [l.offset, l.text])).toEqual([
      [LINE_150, CONTENT.slice(7500, 7549)],
    ])
    expect(body).toMatchObject({
      agent: "edge-1",
      host: "web-3",
      source: "test",
      path: t.log,
      gen: t.gen,
      rotated: false,
    })
    expect(body.window.line_end_mismatch).toBe(false)
    expect(body.matched_at).toBe(new Date(NOW - 60_000).toISOString())
  })

  test("refused links: 403 with the reason, and nothing is looked up", async () => {
    await using s = sandbox()
    const t = await setup(s)
    const good = t.token()
    const flipped = Buffer.from(good, "base64url")
    flipped[30] = (flipped[30] ?? 0) ^ 1
    const cases: [string, string, string][] = [
      ["no token", "", "unsigned"],
      ["empty token", "?t=", "unsigned"],
      ["garbage", "?t=hello", "malformed"],
      ["path as token", "?t=../../x", "malformed"],
      ["encoded path as token", "?t=..%2F..%2Fetc%2Fpasswd", "malformed"],
      ["two tokens", `?t=${good}&t=${good}`, "malformed"],
      ["tampered", `?t=${flipped.toString("base64url")}`, "bad_signature"],
      ["signed by another key", `?t=${t.token({}, keys().privateKey)}`, "bad_signature"],
      ["another agent's", `?t=${t.token({ agent: "edge-2" })}`, "other_agent"],
      ["expired", `?t=${t.token({ expiresAt: NOW - 1 })}`, "expired"],
    ]
    for (const [name, query, reason] of cases) {
      const json = await expectJson(t.get(`/preview.json${query}`), 403)
      expect({ name, reason: json.reason }).toEqual({ name, reason })
      const res = t.get(`/preview${query}`)
      expect(res?.status).toBe(403)
      expect(res?.headers.get("cache-control")).toBe("no-store")
      expect(await res?.text()).toEndWith(`(${reason})\n`)
    }
    t.setClock(NOW + DAY + 1) // the good link, 1 ms past its expiry
    expect((await expectJson(t.get(`/preview.json?t=${good}`), 403)).reason).toBe("expired")
    expect(t.located).toEqual([])
  })

  test("traversal attempts never reach a file the sources do not read", async () => {
    await using s = sandbox()
    const t = await setup(s)
    const good = t.token()
    for (const target of [
      "/preview/../../etc/passwd",
      `/preview/../secret.txt?t=${good}`,
      "/preview/%2e%2e/%2e%2e/etc/passwd",
      `/preview%2F..%2F..%2Fetc%2Fpasswd?t=${good}`,
      "/preview/",
      "/previewx",
    ]) {
      expect({ target, res: t.get(target) }).toEqual({ target, res: null }) // not the preview's path
    }
    for (const target of [
      `/preview?t=${good}&path=/etc/passwd`,
      `/preview.json?path=${s.file("secret.txt")}&t=${good}`,
    ]) {
      const res = t.get(target)
      expect(res?.status).toBe(200)
      const body = (await res?.text()) ?? ""
      expect(body).toContain("line 00150")
      expect(body).not.toContain(SECRET)
      expect(body).not.toContain("root:")
    }
    // through a real server, with the request target sent raw (no client-side normalisation)
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => t.handler(req) ?? new Response("not found", { status: 404 }),
    })
    try {
      for (const target of [
        `/preview/../../etc/passwd?t=${good}`,
        `/preview/..%2f..%2fsecret.txt?t=${good}`,
      ]) {
        const raw = await rawGet(server.port ?? 0, target)
        expect(raw).not.toStartWith("HTTP/1.1 200")
        expect(raw).not.toContain(SECRET)
        expect(raw).not.toContain("root:")
      }
      expect(await rawGet(server.port ?? 0, `/preview?t=${good}`)).toStartWith("HTTP/1.1 200")
    } finally {
      await server.stop(true)
    }
  })

  test("rename rotation: read from the rotated file, and the page says so", async () => {
    await using s = sandbox()
    const t = await setup(s)
    renameSync(t.log, s.file("app.log.1"))
    writeFileSync(t.log, "new file\n")
    await waitFor("new generation", () => s.rows().length === 2)
    const body = await expectJson(t.get(`/preview.json?t=${t.token()}`), 200)
    expect(body).toMatchObject({ status: "ok", rotated: true, read_from: s.file("app.log.1"), path: t.log })
    const page = (await t.get(`/preview?t=${t.token()}`)?.text()) ?? ""
    expect(page).toContain(`rotated since: read from <code>${s.file("app.log.1")}</code>`)
    expect(page).toContain("line 00150")
  })

  test("deleted, truncated below the offset, unknown generation: 410 and the data is gone", async () => {
    await using s = sandbox()
    const t = await setup(s)
    await t.run.stop()
    truncateSync(t.log, 2000) // same inode, first bytes kept: the window finds the line past the end
    const truncated = await expectJson(t.get(`/preview.json?t=${t.token()}`), 410)
    expect(truncated).toMatchObject({ status: "gone", path: t.log })
    expect(truncated.status === "gone" && truncated.reason).toContain("truncated: it now has 2000 bytes")
    unlinkSync(t.log)
    const res = t.get(`/preview?t=${t.token()}`)
    expect(res?.status).toBe(410)
    expect(await res?.text()).toContain(`<p class=gone>${GONE.rotated}</p>`)
    const unknown = await expectJson(t.get(`/preview.json?t=${t.token({ gen: crypto.randomUUID() })}`), 410)
    expect(unknown).toMatchObject({ status: "gone", reason: GONE.unknown, path: null })
  })

  test("a hostile line is shown as text, never as markup", async () => {
    await using s = sandbox()
    const evil = `<script>alert(1)</script><img src=x onerror="alert('x')"> & \u001b[31mred\u0000\n`
    const t = await setup(s, `ok\n${evil}after\n`)
    const page = (await t.get(`/preview?t=${t.token({ offset: 3 })}`)?.text()) ?? ""
    expect(page).not.toContain("<script")
    expect(page).not.toContain("<img")
    expect(page).toContain(
      "&#60;script&#62;alert(1)&#60;/script&#62;&#60;img src=x onerror=&#34;alert(&#39;x&#39;)&#34;&#62; &#38; ␛[31mred␀",
    )
  })

  test("HEAD, other methods and other paths", async () => {
    await using s = sandbox()
    const t = await setup(s)
    const head = t.get(`/preview?t=${t.token()}`, "HEAD")
    expect(head?.status).toBe(200)
    expect(await head?.text()).toBe("")
    const post = t.get(`/preview?t=${t.token()}`, "POST")
    expect(post?.status).toBe(405)
    expect(post?.headers.get("allow")).toBe("GET, HEAD")
    for (const path of ["/", "/status", "/health", "/previews"]) expect(t.get(path)).toBeNull()
    expect(readFileSync(t.log, "utf8")).toBe(CONTENT) // the preview only ever reads
  })
})

/** Sends one request with `target` as the exact request-target and returns the raw response. */
function rawGet(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
    })
    let out = ""
    socket.setEncoding("utf8")
    socket.on("data", (chunk) => {
      out += chunk
    })
    socket.on("end", () => resolve(out))
    socket.on("error", reject)
  })
}
