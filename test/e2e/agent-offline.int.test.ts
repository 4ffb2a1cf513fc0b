import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { join } from "node:path"
import { keygen } from "../../agent/cli/keygen.ts"
import { fakeChat } from "../../collector/alerts/targets/test-fixture.ts"
import {
  agentCommand,
  collectorCommand,
  freePort,
  querySql,
  spawnLogged,
  startNatsServer,
  tempDir,
  waitFor,
  writeConfig,
} from "../harness/index.ts"

// Real nats-server, collector and agent processes; a webhook played by a local server.
setDefaultTimeout(120_000)

describe("agent offline alerts from heartbeats", () => {
  test("agent killed: one offline message after the timeout; restarted: one back; a collector restart raises none", async () => {
    await using nats = await startNatsServer()
    await using dir = tempDir("outpost-offline-")
    await using hook = fakeChat("/hook")
    const keys = keygen(join(dir.path, "keys/agent.key"), "edge-h", true)
    const port = await freePort()
    const httpUrl = `http://127.0.0.1:${port}`
    const collectorConfig = writeConfig(join(dir.path, "collector.json"), {
      data_dir: join(dir.path, "collector"),
      enrolled_keys: keys.publicPath,
      nats: { url: nats.url },
      http: { port },
      consumer: { batch_max_wait_ms: 20 },
      alerts: {
        targets: [{ name: "ops", type: "webhook", url: hook.url }],
        group_wait_s: 0,
        group_interval_s: 1, // the back message goes at the next group_interval after the offline one
        agent_offline_after_s: 5,
      },
    })
    const startCollector = async (log: string) => {
      const c = spawnLogged(collectorCommand(collectorConfig), join(dir.path, log))
      await waitFor(
        "collector health",
        async () => (await fetch(`${httpUrl}/health`).catch(() => null))?.ok === true,
      )
      return c
    }
    let collector = await startCollector("collector-1.log")
    const agentConfig = writeConfig(join(dir.path, "agent.json"), {
      agent_id: "edge-h",
      state_dir: join(dir.path, "agent-state"),
      private_key_file: keys.privatePath,
      http: { port: 0 },
      nats: { servers: [nats.url], publish_timeout_ms: 500 },
      heartbeat: { interval_s: 1 },
    })
    let agent = spawnLogged(agentCommand(agentConfig), join(dir.path, "agent-1.log"))
    const heartbeats = async () =>
      Number(
        (await querySql(httpUrl, "SELECT count(*) AS n FROM agent_heartbeats WHERE agent = 'edge-h'"))[0]?.n,
      )
    await waitFor("heartbeats stored", async () => (await heartbeats()) >= 2)
    const sent = () =>
      hook.seen.map((r) => JSON.parse(r.body) as { status: string; commonLabels: Record<string, string> })

    // the collector restarts while the agent beats: it must not call the agent offline
    await collector.stop()
    collector = await startCollector("collector-2.log")
    const after = await heartbeats()
    await waitFor("heartbeats after the restart", async () => (await heartbeats()) >= after + 6, 30_000)
    expect(sent()).toEqual([])

    type Status = {
      presence: { agent: string; state: string; version: string }[]
      alerts: { targets: { name: string; stopped: string | null; deliveries: Record<string, number> }[] }
    }
    const status = async () => (await (await fetch(`${httpUrl}/status`)).json()) as Status
    const online = async () =>
      (await (await fetch(`${httpUrl}/metrics`)).text())
        .split("\n")
        .find((l) => l.startsWith('outpost_collector_agent_online{agent="edge-h"} '))
    expect((await status()).presence.map((p) => [p.agent, p.state])).toEqual([["edge-h", "online"]])
    expect(await online()).toBe('outpost_collector_agent_online{agent="edge-h"} 1')

    await agent.kill9()
    await waitFor("the offline message", () => sent().length >= 1, 30_000)
    expect(sent().map((m) => [m.status, m.commonLabels.agent])).toEqual([["firing", "edge-h"]])
    expect((await status()).presence.map((p) => [p.agent, p.state])).toEqual([["edge-h", "offline"]])
    expect(await online()).toBe('outpost_collector_agent_online{agent="edge-h"} 0')

    agent = spawnLogged(agentCommand(agentConfig), join(dir.path, "agent-2.log"))
    await waitFor("the back message", () => sent().length >= 2, 30_000)
    expect(sent().map((m) => [m.status, m.commonLabels.agent])).toEqual([
      ["firing", "edge-h"],
      ["resolved", "edge-h"],
    ])
    const deliveries = await querySql(
      httpUrl,
      "SELECT target, status, state, attempts FROM alert_deliveries ORDER BY created_at",
    )
    expect(deliveries).toEqual([
      { target: "ops", status: "firing", state: "sent", attempts: 1 },
      { target: "ops", status: "resolved", state: "sent", attempts: 1 },
    ])
    const targets = (await status()).alerts.targets
    expect(targets.map((t) => [t.name, t.stopped, t.deliveries])).toEqual([["ops", null, { sent: 2 }]])
    const metrics = await (await fetch(`${httpUrl}/metrics`)).text()
    expect(metrics).toContain('outpost_collector_alert_sends_total{target="ops",outcome="sent"} 2')
    expect(metrics).toContain(
      'outpost_collector_alert_messages_total{rule="agent_offline",status="resolved"} 1',
    )
    expect(await agent.stop()).toBe(0)
    expect(await collector.stop()).toBe(0)
  })
})
