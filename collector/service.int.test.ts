import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { jetstream } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { parseConfig } from "../shared/config/load.ts"
import type { OutpostError } from "../shared/errors.ts"
import { formatPublicKeyLine } from "../shared/protocol/keys.ts"
import {
  freePort,
  logsEnvelope,
  type NatsServer,
  newTestKey,
  PROMTOOL,
  promtool,
  publishEnvelope,
  type RecordingLogger,
  recordingLogger,
  startNatsServer,
  tempDir,
  waitFor,
  warnIfNoPromtool,
} from "../test/harness/index.ts"
import { CollectorConfigSchema } from "./config/schema.ts"
import { type RunningCollector, startCollector } from "./service.ts"
import { DuckDbWriter } from "./sinks/duckdb/writer.ts"

setDefaultTimeout(60_000)
warnIfNoPromtool("promtool check metrics on a running collector's /metrics")

const edge1 = newTestKey()
const edge2 = newTestKey()
const stranger = newTestKey()

type Health = { status: string; problems?: string[] }
const health = async (url: string) => {
  const res = await fetch(`${url}/health`)
  return { code: res.status, body: (await res.json()) as Health }
}
const metricsText = async (url: string) => (await fetch(`${url}/metrics`)).text()
/** The value of one series in a /metrics text (NaN when absent). */
const sample = (text: string, series: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1))
}

function collectorConfig(dir: string, natsUrl: string, httpPort: number) {
  const keys = join(dir, "enrolled_keys")
  if (!existsSync(keys)) {
    writeFileSync(
      keys,
      `${formatPublicKeyLine(edge1.publicKeyRaw, "edge-1")}\n${formatPublicKeyLine(edge2.publicKeyRaw, "edge-2")}\n`,
    )
  }
  return parseConfig(
    {
      data_dir: dir,
      enrolled_keys: keys,
      nats: { url: natsUrl },
      http: { port: httpPort },
      consumer: { batch_max_wait_ms: 10 },
    },
    CollectorConfigSchema,
  )
}

describe("a collector whose NATS is not there yet", () => {
  let nats: NatsServer
  let dir: ReturnType<typeof tempDir>
  let log: RecordingLogger
  let collector: RunningCollector | undefined
  let url: string

  beforeAll(async () => {
    // Started once for a free port and its store, then stopped: the collector starts against nothing.
    nats = await startNatsServer()
    await nats.stop()
    dir = tempDir()
    log = recordingLogger("collector")
  })
  afterAll(async () => {
    await collector?.stop()
    await nats[Symbol.asyncDispose]()
    await dir[Symbol.asyncDispose]()
  })

  test("HTTP answers first: /health is 503 saying what it waits for, 200 once NATS comes up", async () => {
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    const starting = startCollector(collectorConfig(dir.path, nats.url, port), log)
    let problems: string[] = []
    await waitFor("/health to report the NATS connection", async () => {
      const h = await health(url)
      problems = h.body.problems ?? []
      return h.code === 503 && problems.some((p) => p.includes(": ") && p.startsWith("nats: connecting"))
    })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(
      new RegExp(`^nats: connecting to ${nats.url} since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z: .+`),
    )
    // DuckDB is open already: /status answers, without consumer figures while NATS cannot give them.
    const status = await fetch(`${url}/status`)
    expect(status.status).toBe(200)
    expect(await status.json()).toMatchObject({ consumer: null, quarantine: null, problems })
    expect(sample(await metricsText(url), "outpost_collector_nats_connected")).toBe(0)
    const warned = log.at("warn").filter((m) => m.startsWith(`cannot connect to NATS at ${nats.url}: `))
    expect(warned).toHaveLength(1)

    await nats.start()
    collector = await starting
    expect((await health(url)).code).toBe(200)
    expect(sample(await metricsText(url), "outpost_collector_nats_connected")).toBe(1)
    expect(log.at("info").some((m) => m.startsWith(`connected to NATS at ${nats.url} after `))).toBe(true)
    expect(log.at("info").at(-1)).toStartWith("collector ready: ")
  })

  test("metrics: known label sets at 0, per-agent series for enrolled agents only, promtool finds no problem", async () => {
    const nc = await connect({ servers: nats.url })
    try {
      const js = jetstream(nc)
      await publishEnvelope(js, logsEnvelope({ agent: "edge-1", key: edge1, seq: 1, lines: ["a", "b"] }))
      await publishEnvelope(
        js,
        logsEnvelope({ agent: "edge-1", key: edge1, seq: 2, lines: ["c"], offset: 4 }),
      )
      // Signed well, by an agent nobody enrolled: quarantined, and no series of its own.
      await publishEnvelope(js, logsEnvelope({ agent: "intruder", key: stranger, seq: 1, lines: ["x"] }))
      await js.publish("outpost.logs.edge-1", new TextEncoder().encode("garbage"))
    } finally {
      await nc.close()
    }
    let text = ""
    await waitFor("all four envelopes to be settled", async () => {
      text = await metricsText(url)
      return (
        sample(text, "outpost_collector_envelopes_accepted_total") === 2 &&
        sample(text, 'outpost_collector_envelopes_quarantined_total{reason="unknown_agent"}') === 1 &&
        sample(text, 'outpost_collector_envelopes_rejected_total{reason="malformed"}') === 1
      )
    })
    expect(sample(text, "outpost_collector_envelopes_received_total")).toBe(4)
    expect(sample(text, 'outpost_collector_envelopes_rejected_total{reason="signature"}')).toBe(0)
    expect(sample(text, 'outpost_collector_agent_records_total{agent="edge-1"}')).toBe(3)
    expect(sample(text, 'outpost_collector_agent_records_total{agent="edge-2"}')).toBe(0)
    const last = sample(text, 'outpost_collector_agent_last_envelope_timestamp_seconds{agent="edge-1"}')
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(60)
    expect(text).not.toContain('outpost_collector_agent_last_envelope_timestamp_seconds{agent="edge-2"}')
    expect(text).not.toContain("intruder")
    expect(sample(text, "outpost_collector_flush_duration_seconds_count")).toBeGreaterThanOrEqual(1)
    expect(
      sample(
        text,
        'outpost_collector_http_request_duration_seconds_count{route="/health",status_class="5xx"}',
      ),
    ).toBeGreaterThanOrEqual(1)
    expect(sample(text, "outpost_collector_consumer_pending_messages")).toBe(0)
    expect(sample(text, "process_open_fds")).toBeGreaterThan(0)
    if (PROMTOOL) expect(await promtool(["check", "metrics"], text)).toEqual({ code: 0, output: "" })
  })

  test("NATS going away and coming back is logged once each; /health says why meanwhile", async () => {
    const disconnected = () => log.at("warn").filter((m) => m.startsWith("NATS disconnected from "))
    await nats.stop()
    let problems: string[] = []
    await waitFor("/health to report the lost connection", async () => {
      problems = (await health(url)).body.problems ?? []
      return problems.some((p) => p.startsWith("nats: disconnected from "))
    })
    expect(problems.find((p) => p.startsWith("nats: "))).toMatch(
      /^nats: disconnected from \S+ since \S+Z: .+/,
    )
    expect(disconnected()).toHaveLength(1)
    expect(sample(await metricsText(url), "outpost_collector_nats_connected")).toBe(0)

    await nats.start()
    await waitFor("/health to be 200 again", async () => (await health(url)).code === 200, 30_000)
    await waitFor("the reconnect to be logged", () =>
      log.at("info").some((m) => m.startsWith("NATS reconnected to ")),
    )
    expect(log.at("info").filter((m) => m.startsWith("NATS reconnected to "))).toHaveLength(1)
    expect(disconnected()).toHaveLength(1)
    const text = await metricsText(url)
    expect(sample(text, "outpost_collector_nats_connected")).toBe(1)
    expect(sample(text, "outpost_collector_nats_reconnects_total")).toBe(1)
  })

  test("a restarted collector takes each agent's last envelope time from DuckDB", async () => {
    const before = sample(
      await metricsText(url),
      'outpost_collector_agent_last_envelope_timestamp_seconds{agent="edge-1"}',
    )
    await collector?.stop()
    collector = undefined
    collector = await startCollector(collectorConfig(dir.path, nats.url, 0), log)
    const text = await metricsText(collector.httpUrl)
    const after = sample(text, 'outpost_collector_agent_last_envelope_timestamp_seconds{agent="edge-1"}')
    expect(Math.abs(after - before)).toBeLessThan(0.01)
    expect(text).not.toContain('outpost_collector_agent_last_envelope_timestamp_seconds{agent="edge-2"}')
  })
})

describe("start-up that cannot complete", () => {
  test("an HTTP port in use fails at once, naming host:port, before DuckDB or NATS are touched", async () => {
    await using dir = tempDir()
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("someone else") })
    try {
      const config = collectorConfig(dir.path, "nats://127.0.0.1:1", taken.port as number)
      const failed = await startCollector(config, recordingLogger()).catch((error: OutpostError) => error)
      expect(failed).toBeInstanceOf(Error)
      expect((failed as OutpostError).code).toBe("http_listen")
      expect((failed as Error).message).toBe(
        `cannot listen for HTTP on 127.0.0.1:${taken.port}: the address is already in use (another collector or program listens there; change http.port)`,
      )
      expect(existsSync(join(dir.path, "outpost.duckdb"))).toBe(false)
    } finally {
      await taken.stop(true)
    }
  })

  test("aborted while waiting for NATS: rejects, closes HTTP and DuckDB", async () => {
    await using dir = tempDir()
    const nats = await startNatsServer()
    await nats.stop()
    try {
      const port = await freePort()
      const abort = new AbortController()
      const log = recordingLogger()
      const starting = startCollector(collectorConfig(dir.path, nats.url, port), log, {
        signal: abort.signal,
      })
      const failed = starting.catch((error: OutpostError) => error)
      await waitFor("a failed connect", () =>
        log.at("warn").some((m) => m.startsWith("cannot connect to NATS")),
      )
      expect((await health(`http://127.0.0.1:${port}`)).code).toBe(503)
      abort.abort()
      expect(((await failed) as OutpostError).code).toBe("aborted")
      expect(await fetch(`http://127.0.0.1:${port}/health`).catch(() => "refused")).toBe("refused")
      // The database lock is released: it opens again at once.
      const writer = await DuckDbWriter.open(join(dir.path, "outpost.duckdb"))
      await writer.close()
    } finally {
      await nats[Symbol.asyncDispose]()
    }
  })
})
