import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { connect } from "node:net"
import { join } from "node:path"
import { OutpostError } from "../../shared/errors.ts"
import { tempDir, waitFor } from "../../test/harness/index.ts"
import { createCollectorMetrics } from "../metrics/collector-metrics.ts"
import { openQueryPool, type QueryPool } from "../sinks/duckdb/query-pool.ts"
import { DuckDbWriter } from "../sinks/duckdb/writer.ts"
import type { HttpAccess } from "./access.ts"
import { createHttpApp } from "./app.ts"
import { type HttpServer, serveHttp } from "./server.ts"

setDefaultTimeout(60_000)

const TOKEN = "served-token-0123456789"

/** Sends a raw HTTP/1.1 request (fetch would not let a test choose the Host header) and returns the status. */
async function rawStatus(port: number, host: string, path: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
      )
    })
    let text = ""
    socket.on("data", (chunk) => {
      text += chunk.toString()
    })
    socket.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0)))
    socket.on("error", reject)
  })
}

describe("HTTP through Bun.serve", () => {
  const dir = tempDir()
  let writer: DuckDbWriter
  let queries: QueryPool
  let server: HttpServer
  let url: string

  beforeAll(async () => {
    writer = await DuckDbWriter.open(join(dir.path, "s.duckdb"))
    queries = await openQueryPool(writer.instance, {
      maxConcurrent: 2,
      maxQueued: 2,
      timeoutMs: 30_000,
      maxResultBytes: 1024 * 1024,
      maxQueryChars: 10_000,
    })
    const access: HttpAccess = { token: TOKEN, bindHost: "127.0.0.1", allowedHosts: [], port: 0 }
    const app = createHttpApp({
      queries: () => queries,
      access,
      metrics: createCollectorMetrics(),
      problems: () => [],
      quarantine: async () => null,
      consumerLag: async () => null,
      startedAt: Date.now(),
    })
    server = serveHttp(app, { host: "127.0.0.1", port: 0, access, queries: () => queries })
    url = `http://127.0.0.1:${server.port}`
  })
  afterAll(async () => {
    await server.stop(true)
    await writer.close()
    await dir[Symbol.asyncDispose]()
  })

  test("the token is required over a real socket; the listening port is the one the Host check expects", async () => {
    expect((await fetch(`${url}/status`)).status).toBe(401)
    const res = await fetch(`${url}/sql?q=${encodeURIComponent("SELECT 7 AS n")}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(await res.json()).toEqual({ rows: [{ n: 7 }], truncated: false })
    expect((await fetch(`${url}/health`)).status).toBe(200)
    expect(await rawStatus(server.port, `localhost:${server.port}`, "/status")).toBe(200)
    expect(await rawStatus(server.port, "rebound.example", "/status")).toBe(403)
  })

  test("a client that disconnects interrupts its query", async () => {
    const client = new AbortController()
    const q = encodeURIComponent("SELECT sum(hash(i)) FROM range(4000000000) t(i)")
    const request = fetch(`${url}/sql?q=${q}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: client.signal,
    }).catch((error: Error) => error.name)
    await waitFor("the query to execute", () => queries.load.executing === 1)
    client.abort()
    expect(await request).toBe("AbortError")
    // The query would run for about 20 s more; the disconnect stops it.
    await waitFor("the query to be interrupted", () => queries.load.running === 0, 3000)
  })

  test("a port in use fails with an error naming host:port and the reason", () => {
    const access: HttpAccess = { token: TOKEN, bindHost: "127.0.0.1", allowedHosts: [], port: 0 }
    const app = { handle: () => new Response("x") }
    expect(() => serveHttp(app, { host: "127.0.0.1", port: server.port, access })).toThrow(
      `cannot listen for HTTP on 127.0.0.1:${server.port}: the address is already in use`,
    )
    try {
      serveHttp(app, { host: "127.0.0.1", port: server.port, access })
    } catch (error) {
      expect(error).toBeInstanceOf(OutpostError)
      expect((error as OutpostError).code).toBe("http_listen")
    }
  })
})
