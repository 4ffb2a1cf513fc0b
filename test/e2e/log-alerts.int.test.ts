import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { appendFileSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { jetstream } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { keygen } from "../../agent/cli/keygen.ts"
import { fakeChat } from "../../collector/alerts/targets/test-fixture.ts"
import {
  agentCommand,
  collectorCommand,
  freePort,
  spawnLogged,
  startNatsServer,
  tempDir,
  waitFor,
  writeConfig,
} from "../harness/index.ts"

// Real nats-server, collector and agent processes; a webhook played by a local server.
setDefaultTimeout(120_000)

type Sent = {
  status: string
  commonLabels: Record<string, string>
  outpost: { count: number; lines: { text: string; file?: string; offset?: number }[]; link?: string }
}

describe("alerts from matched log lines", () => {
  test("one matched line: one message with the line; 1,000 in a burst: grouped, the count adds up to 1,000", async () => {
    await using nats = await startNatsServer()
    await using dir = tempDir("outpost-log-alerts-")
    await using hook = fakeChat("/hook")
    const keys = keygen(join(dir.path, "keys/agent.key"), "edge-l", true)
    const previewKey = keygen(join(dir.path, "keys/preview.key"), "collector", true)
    const port = await freePort()
    const agentPort = await freePort()
    const collector = spawnLogged(
      collectorCommand(
        writeConfig(join(dir.path, "collector.json"), {
          data_dir: join(dir.path, "collector"),
          enrolled_keys: keys.publicPath,
          nats: { url: nats.url },
          http: { port },
          consumer: { batch_max_wait_ms: 20 },
          alerts: {
            targets: [{ name: "ops", type: "webhook", url: hook.url }],
            group_wait_s: 1,
            group_interval_s: 2,
            preview_key_file: previewKey.privatePath,
          },
        }),
      ),
      join(dir.path, "collector.log"),
    )
    const log = join(dir.path, "app.log")
    writeFileSync(log, "")
    const agent = spawnLogged(
      agentCommand(
        writeConfig(join(dir.path, "agent.json"), {
          agent_id: "edge-l",
          state_dir: join(dir.path, "agent-state"),
          private_key_file: keys.privatePath,
          http: { port: agentPort },
          nats: { servers: [nats.url] },
          heartbeat: { interval_s: 1 },
          preview: {
            collector_public_keys: [readFileSync(previewKey.publicPath, "utf8").trim()],
            url: `http://127.0.0.1:${agentPort}`,
          },
          batch: { max_wait_ms: 20 },
          logs: [
            {
              name: "app",
              paths: [log],
              start_at: "beginning",
              poll_interval_ms: 50,
              mode: "match",
              rules: [{ name: "error", keywords: ["ERROR"] }],
            },
          ],
        }),
      ),
      join(dir.path, "agent.log"),
    )
    await waitFor(
      "collector health",
      async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok === true,
    )
    const sent = () => hook.seen.map((r) => JSON.parse(r.body) as Sent)

    // the preview URL reaches the collector with the agent's heartbeats
    await waitFor("the agent's preview URL known", async () => {
      const r = await fetch(
        `http://127.0.0.1:${port}/sql?q=${encodeURIComponent("SELECT count(*) AS n FROM agent_presence WHERE preview_url IS NOT NULL")}`,
      )
      return r.ok && ((await r.json()) as { rows: { n: number }[] }).rows[0]?.n === 1
    })
    appendFileSync(log, "all good\nERROR disk full on /var\nall good again\n")
    await waitFor("the message", () => sent().length >= 1, 30_000)
    const [first] = sent()
    expect(first?.status).toBe("firing")
    expect(first?.commonLabels).toMatchObject({ alertname: "log_match", agent: "edge-l", rule: "error" })
    expect(first?.outpost.count).toBe(1)
    expect(first?.outpost.lines.map((l) => [l.text, l.file, l.offset])).toEqual([
      ["ERROR disk full on /var", log, 9],
    ])

    // a burst: into the first episode if it is still open, else a new one
    const before = sent().length
    appendFileSync(log, Array.from({ length: 1000 }, (_, i) => `ERROR burst ${i}\n`).join(""))
    await waitFor(
      "a message counting all 1,000",
      () => sent().some((m) => m.outpost.count === 1000 || m.outpost.count === 1001),
      60_000,
    )
    const burst = sent().slice(before)
    expect(burst.length).toBeLessThanOrEqual(3) // grouped: not 1,000 messages
    const last = burst.at(-1) as Sent
    // 1,000 if the burst opened a new episode, 1,001 if it came while the first was still open
    expect([1000, 1001]).toContain(last.outpost.count)
    expect(last.outpost.lines.length).toBeLessThanOrEqual(5)

    // 20 envelopes no enrolled key signed, on edge-l's subject: one message (or a few) counting all 20
    const nc = await connect({ servers: nats.url })
    try {
      const js = jetstream(nc)
      for (let i = 0; i < 20; i++) await js.publish("outpost.logs.edge-l", `forged ${i}`)
    } finally {
      await nc.close()
    }
    const rejected = () => sent().filter((m) => m.commonLabels.alertname === "rejected_envelopes")
    await waitFor("a message counting the 20 rejected envelopes", () =>
      rejected().some((m) => m.outpost.count === 20),
    )
    expect(Math.max(...rejected().map((m) => m.outpost.count))).toBe(20)
    expect(rejected()[0]?.commonLabels.reason).toBeString()
    expect(await agent.stop()).toBe(0)
    expect(await collector.stop()).toBe(0)
  })
})
