import { expect, test } from "bun:test"
import { OutpostError } from "../../shared/errors.ts"
import type { AgentHttpView } from "./handler.ts"
import { serveAgentHttp } from "./server.ts"
import { createAgentStatus } from "./status.ts"

const view = (): AgentHttpView => ({
  agent: "edge-1",
  version: "0.0.0",
  startedAt: Date.now(),
  status: createAgentStatus({ sources: [] }),
  sources: () => [],
  metrics: () => "",
})

test("serves on a free port and stops", async () => {
  const server = serveAgentHttp(view(), { host: "127.0.0.1", port: 0 })
  try {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
    const res = await fetch(`${server.url}/health`)
    expect(res.status).toBe(503) // not connected to NATS yet
    expect(((await res.json()) as { problems: string[] }).problems[0]).toStartWith(
      "nats: not connected since",
    )
  } finally {
    await server.stop()
  }
  await expect(fetch(`${server.url}/health`)).rejects.toThrow()
})

test("a port in use is an error that names the address and the setting", async () => {
  const first = serveAgentHttp(view(), { host: "127.0.0.1", port: 0 })
  try {
    let error: unknown
    try {
      serveAgentHttp(view(), { host: "127.0.0.1", port: first.port })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(OutpostError)
    expect((error as OutpostError).code).toBe("http_address_in_use")
    expect((error as Error).message).toBe(
      `cannot serve the agent's HTTP (/health, /metrics) on 127.0.0.1:${first.port}: the address is in use (another agent?); set [http] port, or [http] enabled = false`,
    )
  } finally {
    await first.stop()
  }
})

test("an address this host does not have is an error that names it", () => {
  expect(() => serveAgentHttp(view(), { host: "192.0.2.1", port: 4406 })).toThrow(
    "cannot serve the agent's HTTP (/health, /metrics) on 192.0.2.1:4406: EADDRNOTAVAIL",
  )
})
