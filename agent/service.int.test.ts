import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { appendFileSync, existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { Value } from "@sinclair/typebox/value"
import { OutpostError } from "../shared/errors.ts"
import type { LogLevel } from "../shared/logger.ts"
import { formatPublicKeyLine, generateAgentKeyPair, loadPrivateKey } from "../shared/protocol/keys.ts"
import { signPreviewToken } from "../shared/protocol/preview-token.ts"
import {
  freePort,
  type LoggedLine,
  type NatsServer,
  PROMTOOL,
  promtool,
  recordingLogger,
  startNatsServer,
  tempDir,
  waitFor,
  warnIfNoPromtool,
} from "../test/harness/index.ts"
import { keygen } from "./cli/keygen.ts"
import { type AgentConfig, AgentConfigSchema } from "./config/schema.ts"
import { startAgent } from "./service.ts"
import { openStateDb } from "./state/index.ts"

// Starts a real nats-server and the agent in this process: give a busy 2-core machine room.
setDefaultTimeout(60_000)

warnIfNoPromtool("the check of the running agent's /metrics")

/** The shared logger, every line kept; `find` picks those of a level and component that start alike. */
function memoryLogger() {
  const logger = recordingLogger("agent")
  const lines = logger.lines
  const find = (level: LogLevel, component: string, start: string) =>
    lines.filter((l) => l.level === level && l.component === component && l.message.startsWith(start))
  return { logger, lines, find }
}

const dir = tempDir("outpost-agent-service-")
const { privatePath } = keygen(join(dir.path, "agent.key"), "edge-1", false)
let configs = 0

/** A config with its own state dir and log file, HTTP on a free port. */
function agentConfig(servers: string[], http: Partial<AgentConfig["http"]> = {}) {
  const n = ++configs
  const stateDir = join(dir.path, `state-${n}`)
  const log = join(dir.path, `app-${n}.log`)
  const config = Value.Default(AgentConfigSchema, {
    agent_id: "edge-1",
    state_dir: stateDir,
    private_key_file: privatePath,
    nats: { servers, publish_timeout_ms: 1000 },
    batch: { max_wait_ms: 20 },
    http: { port: 0, ...http },
    logs: [{ name: "app", paths: [log], start_at: "beginning", poll_interval_ms: 50, rotate_wait_ms: 300 }],
  }) as AgentConfig
  expect([...Value.Errors(AgentConfigSchema, config)]).toEqual([])
  return { config, stateDir, log }
}

/** Closed for good: SQLite removes the WAL file when its last connection closes. */
const dbClosed = (stateDir: string) => !existsSync(join(stateDir, "state.db-wal"))

/** The HTTP address from the agent's "serving ..." line. */
const httpUrl = (lines: LoggedLine[]) => {
  const line = lines.find((l) => l.message.startsWith("serving /health"))
  return line?.message.match(/at (http:\/\/\S+)\/$/)?.[1]
}

afterAll(() => dir[Symbol.asyncDispose]())

describe("startAgent while NATS is unreachable", () => {
  test("says so at once with the reason, /health says why, and an abort closes everything with an AbortError", async () => {
    const url = `nats://127.0.0.1:${await freePort()}`
    const { config, stateDir } = agentConfig([url])
    const { logger, lines, find } = memoryLogger()
    const abort = new AbortController()
    const starting = startAgent(config, logger, { signal: abort.signal })
    starting.catch(() => {}) // awaited below
    await waitFor("the warning", () => find("warn", "nats", "cannot connect").length > 0)
    expect(find("warn", "nats", "cannot connect")[0]?.message).toBe(
      `cannot connect to NATS at ${url}: connection refused; retrying`,
    )
    const http = httpUrl(lines)
    expect(http).toBeDefined()
    const health = await fetch(`${http}/health`)
    expect(health.status).toBe(503)
    const { problems } = (await health.json()) as { problems: string[] }
    expect(problems[0]).toMatch(/^nats: not connected since \S+Z \(connection refused, \d+ attempts?\)$/)

    // several more attempts (every ~0.5 s), still one warning: the next is due 30 s after the first
    await waitFor("four attempts", async () => {
      const status = (await (await fetch(`${http}/status`)).json()) as { nats: { attempts: number } }
      return status.nats.attempts >= 4
    })
    expect(find("warn", "nats", "cannot connect")).toHaveLength(1)
    expect(dbClosed(stateDir)).toBe(false) // open while it waits

    const stoppedAt = performance.now()
    abort.abort()
    const error = await starting.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(performance.now() - stoppedAt).toBeLessThan(1000)
    expect((error as Error).name).toBe("AbortError")
    expect(dbClosed(stateDir)).toBe(true)
    openStateDb(stateDir).close() // and usable again
    await expect(fetch(`${http}/health`)).rejects.toThrow() // the HTTP server is gone too
    expect(lines.filter((l) => l.level === "error")).toEqual([])
  })

  test("an HTTP port in use fails the start at once, naming it, and closes the state db", async () => {
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") })
    try {
      const { config, stateDir } = agentConfig(["nats://127.0.0.1:1"], { port: taken.port })
      const error = await startAgent(config, memoryLogger().logger).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(OutpostError)
      expect((error as OutpostError).code).toBe("http_address_in_use")
      expect((error as Error).message).toContain(`127.0.0.1:${taken.port}`)
      expect(dbClosed(stateDir)).toBe(true)
    } finally {
      taken.stop(true)
    }
  })
})

describe("a running agent", () => {
  let nats: NatsServer
  beforeAll(async () => {
    nats = await startNatsServer()
    const admin = await connect({ servers: nats.url })
    await (await jetstreamManager(admin)).streams.add({ name: "OUTPOST", subjects: ["outpost.>"] })
    await admin.close()
  })
  afterAll(() => nats?.[Symbol.asyncDispose]())

  test("health, metrics and its log through a NATS outage", async () => {
    const { config, log } = agentConfig([nats.url])
    writeFileSync(log, "one\ntwo\nthree\n")
    const { logger, lines, find } = memoryLogger()
    const agent = await startAgent(config, logger)
    let stopped = false
    try {
      const http = agent.http?.url
      expect(http).toBe(httpUrl(lines))
      const metric = async (sample: string) => {
        const text = await (await fetch(`${http}/metrics`)).text()
        return text.split("\n").find((l) => l.startsWith(`${sample} `))
      }
      await waitFor(
        "3 lines shipped",
        async () =>
          (await metric('outpost_agent_lines_shipped_total{source="app"}')) ===
          'outpost_agent_lines_shipped_total{source="app"} 3',
      )
      expect(await (await fetch(`${http}/health`)).json()).toEqual({ status: "ok" })
      expect(await metric("outpost_agent_nats_connected")).toBe("outpost_agent_nats_connected 1")
      expect(await metric('outpost_agent_read_bytes_total{source="app"}')).toBe(
        'outpost_agent_read_bytes_total{source="app"} 14',
      )
      expect(await metric('outpost_agent_files_watched{source="app"}')).toBe(
        'outpost_agent_files_watched{source="app"} 1',
      )
      expect(await metric(`outpost_agent_file_behind_bytes{source="app",path="${log}"}`)).toEndWith(" 0")
      expect(await metric("outpost_agent_publish_duration_seconds_count")).not.toBe(
        "outpost_agent_publish_duration_seconds_count 0",
      )
      if (PROMTOOL) {
        const text = await (await fetch(`${http}/metrics`)).text()
        expect(await promtool(["check", "metrics"], text)).toEqual({ code: 0, output: "" })
      }
      const page = await (await fetch(`${http}/`)).text()
      expect(page).toContain(`<code>${log}</code>`)
      expect(find("info", "logs[app]", `reading ${log} from the start`)).toHaveLength(1)
      expect(find("info", "nats", "connected to NATS at")).toHaveLength(1)

      await nats.stop()
      await waitFor("the loss said", () => find("warn", "nats", "lost the NATS connection").length === 1)
      const server = `127.0.0.1:${nats.port}`
      expect(find("warn", "nats", "lost")[0]?.message).toBe(
        `lost the NATS connection to ${server} (connection closed); reconnecting`,
      )
      const down = await fetch(`${http}/health`)
      expect(down.status).toBe(503)
      expect(((await down.json()) as { problems: string[] }).problems[0]).toStartWith(
        `nats: not connected to ${server} since `,
      )
      expect(await metric("outpost_agent_nats_connected")).toBe("outpost_agent_nats_connected 0")
      expect(await metric("outpost_agent_nats_disconnects_total")).toBe(
        "outpost_agent_nats_disconnects_total 1",
      )
      appendFileSync(log, "four\nfive\n")
      await waitFor(
        "a failed publish",
        async () =>
          (await metric("outpost_agent_publish_retries_total")) !== "outpost_agent_publish_retries_total 0",
      )
      await waitFor("reconnect attempts", async () => {
        const status = (await (await fetch(`${http}/status`)).json()) as { nats: { attempts: number } }
        return status.nats.attempts >= 2
      })
      expect(await metric("outpost_agent_nats_disconnects_total")).toBe(
        "outpost_agent_nats_disconnects_total 1",
      )
      await nats.start()
      await waitFor(
        "5 lines shipped",
        async () =>
          (await metric('outpost_agent_lines_shipped_total{source="app"}')) ===
          'outpost_agent_lines_shipped_total{source="app"} 5',
        30_000,
      )
      await waitFor("healthy again", async () => (await fetch(`${http}/health`)).status === 200)
      expect(find("info", "nats", "reconnected to NATS at")).toHaveLength(1)
      expect(find("warn", "transport", "publish of envelope")).toHaveLength(1)

      await agent.stop()
      stopped = true
      // the summary is due once a minute; at stop it says what is left to say
      expect(find("info", "agent", "shipped 5 lines in ")).toHaveLength(1)
      expect(find("info", "agent", "agent stopped")).toHaveLength(1)
      expect(lines.filter((l) => l.level === "error")).toEqual([])
    } finally {
      if (!stopped) await agent.stop()
    }
  })

  test("URL checks and the outbox on /metrics, /status and the page, through a NATS outage", async () => {
    const site = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (r) => new Response("hi", { status: new URL(r.url).pathname === "/fail" ? 500 : 200 }),
    })
    const { config } = agentConfig([nats.url])
    config.logs = []
    config.urls = [
      { url: `http://127.0.0.1:${site.port}/ok`, name: "ok", period_s: 0.2, timeout_s: 0.1 },
      { url: `http://127.0.0.1:${site.port}/fail`, name: "fail<x>", period_s: 0.2, timeout_s: 0.1 },
    ] as AgentConfig["urls"]
    config.urls = (Value.Default(AgentConfigSchema, config) as AgentConfig).urls
    const { logger } = memoryLogger()
    const agent = await startAgent(config, logger)
    try {
      const http = agent.http?.url
      const scrape = async () => (await (await fetch(`${http}/metrics`)).text()).split("\n")
      const value = async (sample: string) => {
        const line = (await scrape()).find((l) => l.startsWith(`${sample} `))
        return line === undefined ? undefined : Number(line.slice(sample.length + 1))
      }
      await waitFor(
        "results of both checks",
        async () =>
          ((await value('outpost_agent_url_results_total{check="ok",outcome="up"}')) ?? 0) >= 2 &&
          ((await value('outpost_agent_url_results_total{check="fail<x>",outcome="down"}')) ?? 0) >= 2,
      )
      expect(await value('outpost_agent_url_results_total{check="ok",outcome="down"}')).toBe(0)
      expect(await value('outpost_agent_url_check_outcome{check="ok",outcome="up"}')).toBe(1)
      expect(await value('outpost_agent_url_check_outcome{check="fail<x>",outcome="down"}')).toBe(1)
      expect(await value('outpost_agent_url_check_outcome{check="fail<x>",outcome="up"}')).toBe(0)
      expect(await value("outpost_agent_url_check_schedule_drift_seconds_count")).toBeGreaterThan(0)
      await waitFor(
        "published",
        async () => ((await value('outpost_agent_entries_published_total{kind="urls"}')) ?? 0) > 0,
      )
      if (PROMTOOL) {
        expect(await promtool(["check", "metrics"], (await scrape()).join("\n"))).toEqual({
          code: 0,
          output: "",
        })
      }

      await nats.stop()
      await waitFor(
        "results kept while NATS is down",
        async () => ((await value("outpost_agent_outbox_entries")) ?? 0) >= 4,
      )
      expect(await value("outpost_agent_outbox_bytes")).toBeGreaterThan(0)
      await waitFor(
        "the wait shows its age",
        async () => ((await value("outpost_agent_outbox_oldest_entry_age_seconds")) ?? 0) > 0.2,
      )
      type Status = {
        urls: {
          checks: { name: string; outcome: string; runs: number; last_run_at: string }[]
          outbox: { entries: number; oldest_at: string | null; dropped_since_start: number }
          published: { entries: number } | null
        }
      }
      const status = (await (await fetch(`${http}/status`)).json()) as Status
      expect(status.urls.checks.map((c) => [c.name, c.outcome])).toEqual([
        ["ok", "up"],
        ["fail<x>", "down"],
      ])
      expect(status.urls.checks[0]?.last_run_at).toMatch(/^\d{4}-\d\d-\d\dT/)
      expect(status.urls.outbox.entries).toBeGreaterThanOrEqual(4)
      expect(status.urls.outbox.oldest_at).toMatch(/^\d{4}-\d\d-\d\dT/)
      expect(status.urls.outbox.dropped_since_start).toBe(0)
      expect(status.urls.published?.entries).toBeGreaterThan(0)
      const page = await (await fetch(`${http}/`)).text()
      expect(page).toContain("<td>fail&#60;x&#62;</td>")
      expect(page).toMatch(/outbox: \d+ entries/)

      await nats.start()
      await waitFor(
        "the outbox drained",
        async () => (await value("outpost_agent_outbox_entries")) === 0,
        30_000,
      )
      expect(await value("outpost_agent_outbox_oldest_entry_age_seconds")).toBe(0)
      expect(await value("outpost_agent_outbox_dropped_entries_total")).toBe(0)
      expect(await value('outpost_agent_outbox_unreported_dropped_entries{kind="urls"}')).toBe(0)
    } finally {
      await agent.stop()
      site.stop(true)
    }
  })

  test("a signed preview link opens by this host's name; /status does not; start warns what links lack", async () => {
    const { config, log, stateDir } = agentConfig([nats.url])
    writeFileSync(log, "one\nERROR two\nthree\n")
    const pair = generateAgentKeyPair()
    config.preview = {
      collector_public_keys: [formatPublicKeyLine(pair.publicKeyRaw, "collector")],
      url: "http://localhost:4406",
    }
    const { logger, find } = memoryLogger()
    const agent = await startAgent(config, logger)
    try {
      const http = agent.http?.url as string
      expect(find("warn", "agent", "preview.url http://localhost:4406 points at localhost")).toHaveLength(1)
      let gen = ""
      await waitFor("the file read", () => {
        const db = openStateDb(stateDir)
        try {
          gen = db.query<{ gen: string }, []>("SELECT gen FROM log_files").get()?.gen ?? ""
        } finally {
          db.close()
        }
        return gen !== ""
      })
      const token = signPreviewToken(
        { agent: "edge-1", gen, offset: 4, expiresAt: Date.now() + 60_000 },
        loadPrivateKey(pair.privateKeyPem).privateKey,
      )
      const asPhone = { headers: { host: "edge-1.example.net:4406" } }
      const page = await fetch(`${http}/preview?t=${token}`, asPhone)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain("ERROR two")
      const forged = await fetch(`${http}/preview?t=${token.slice(0, -4)}AAAA`, asPhone)
      expect(forged.status).toBe(403)
      expect((await fetch(`${http}/status`, asPhone)).status).toBe(403) // the Host check still holds elsewhere
      expect((await fetch(`${http}/preview`, asPhone)).status).toBe(403) // unsigned
    } finally {
      await agent.stop()
    }
  })
})
