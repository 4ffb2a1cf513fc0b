import { Database } from "bun:sqlite"
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { keygen } from "../../agent/cli/keygen.ts"
import {
  agentCommand,
  type Child,
  collectorCommand,
  freePort,
  type NatsServer,
  querySql,
  spawnLogged,
  startNatsServer,
  tempDir,
  waitFor,
  writeConfig,
} from "../harness/index.ts"

// Real nats-server, collector and agent processes, a real HTTP server being checked; an outage and a kill -9.
setDefaultTimeout(120_000)

/** Entries kept in an agent's outbox and the last id it gave (read from the file, as the agent runs). */
function outboxState(stateDir: string): { waiting: number; lastId: number } {
  const path = join(stateDir, "outbox.db")
  if (!existsSync(path)) return { waiting: 0, lastId: 0 }
  const db = new Database(path, { readonly: true })
  try {
    const waiting = db.query<{ n: number }, []>("SELECT count(*) AS n FROM outbox_entries").get()?.n ?? 0
    const lastId =
      db.query<{ id: number }, []>("SELECT last_id AS id FROM outbox_seq WHERE kind = 'urls'").get()?.id ?? 0
    return { waiting, lastId }
  } finally {
    db.close()
  }
}

describe("URL checks end to end: checks -> outbox -> JetStream -> collector -> DuckDB", () => {
  let nats: NatsServer
  let dir: ReturnType<typeof tempDir>
  let site: ReturnType<typeof Bun.serve>
  let collector: Child
  let httpUrl: string
  let keys: { privatePath: string; publicPath: string }

  beforeAll(async () => {
    nats = await startNatsServer()
    dir = tempDir("outpost-urls-")
    site = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("hello") })
    keys = keygen(join(dir.path, "keys/agent.key"), "edge-u", true)
    const port = await freePort()
    httpUrl = `http://127.0.0.1:${port}`
    const config = writeConfig(join(dir.path, "collector.json"), {
      data_dir: join(dir.path, "collector"),
      enrolled_keys: keys.publicPath,
      nats: { url: nats.url },
      http: { port },
      consumer: { batch_max_wait_ms: 20 },
    })
    collector = spawnLogged(collectorCommand(config), join(dir.path, "collector.log"))
    await waitFor(
      "collector health",
      async () => (await fetch(`${httpUrl}/health`).catch(() => undefined))?.ok === true,
    )
  })
  afterAll(async () => {
    await collector?.stop()
    site?.stop(true)
    await nats?.[Symbol.asyncDispose]()
    await dir?.[Symbol.asyncDispose]()
  })

  const agentConfig = (name: string, checks: number, outbox?: Record<string, unknown>) => {
    const stateDir = join(dir.path, `${name}-state`)
    const path = writeConfig(join(dir.path, `${name}.json`), {
      agent_id: "edge-u",
      state_dir: stateDir,
      private_key_file: keys.privatePath,
      http: { port: 0 },
      nats: { servers: [nats.url], publish_timeout_ms: 500 },
      urls: Array.from({ length: checks }, (_, i) => ({
        name: `${name}-${i}`,
        url: `http://127.0.0.1:${site.port}/${name}/${i}`,
        period_s: 0.1,
        timeout_s: 0.05,
      })),
      ...(outbox ? { outbox } : {}),
    })
    return { path, stateDir }
  }
  const rowsOf = async (prefix: string) =>
    querySql(
      httpUrl,
      `SELECT entry_id, "check", started_at FROM url_checks WHERE "check" LIKE '${prefix}-%' ORDER BY entry_id`,
    )

  test("NATS down while checks run, the agent killed with -9 and restarted during it: every result once, in order", async () => {
    const { path, stateDir } = agentConfig("outage", 2)
    let agent = spawnLogged(agentCommand(path), join(dir.path, "outage-1.log"))
    await waitFor("first results stored", async () => (await rowsOf("outage")).length >= 5)
    await nats.stop()
    await waitFor("results kept while NATS is down", () => outboxState(stateDir).waiting >= 10)
    await agent.kill9()
    agent = spawnLogged(agentCommand(path), join(dir.path, "outage-2.log"))
    const beforeRestart = outboxState(stateDir).lastId
    await waitFor("the restarted agent checking on", () => outboxState(stateDir).lastId >= beforeRestart + 10)
    await nats.start()
    await waitFor("the outbox drained", () => outboxState(stateDir).waiting === 0, 60_000)
    expect(await agent.stop()).toBe(0)
    const { lastId } = outboxState(stateDir)
    await waitFor(
      "the last result stored",
      async () => Number((await rowsOf("outage")).at(-1)?.entry_id) === lastId,
      30_000,
    )
    const rows = await rowsOf("outage")
    // every id the outbox gave, each once: nothing lost across the kill, nothing stored twice after the republish
    const first = Number(rows[0]?.entry_id)
    expect(rows.map((r) => Number(r.entry_id))).toEqual(
      Array.from({ length: lastId - first + 1 }, (_, i) => first + i),
    )
    for (const check of ["outage-0", "outage-1"]) {
      const times = rows.filter((r) => r.check === check).map((r) => String(r.started_at))
      expect(times).toEqual([...times].sort())
    }
    const gaps = await querySql(httpUrl, "SELECT count(*) AS n FROM entry_gaps WHERE agent = 'edge-u'")
    expect(gaps[0]?.n).toBe(0)
    // the heartbeats shared the outbox through the outage and the kill: one row each, presence the newest
    const beats = await querySql(
      httpUrl,
      `SELECT count(*) AS n, count(DISTINCT entry_id) AS d, max(entry_id) AS last,
         (SELECT entry_id FROM agent_presence WHERE agent = 'edge-u') AS presence
       FROM agent_heartbeats WHERE agent = 'edge-u'`,
    )
    expect(Number(beats[0]?.n)).toBeGreaterThanOrEqual(2)
    expect(beats[0]?.d).toBe(beats[0]?.n)
    expect(beats[0]?.presence).toBe(beats[0]?.last)
  })

  test("with a tiny outbox bound the dropped count is exact: stored + dropped = every id given", async () => {
    const { path, stateDir } = agentConfig("tiny", 10, { max_entries: 100 })
    await nats.stop()
    const agent = spawnLogged(agentCommand(path), join(dir.path, "tiny.log"))
    await waitFor(
      "more results than the outbox keeps",
      async () => {
        const log = await Bun.file(join(dir.path, "tiny.log")).text()
        return outboxState(stateDir).waiting >= 100 && log.includes("outbox full")
      },
      60_000,
    )
    await nats.start()
    await waitFor("the outbox drained", () => outboxState(stateDir).waiting === 0, 60_000)
    expect(await agent.stop()).toBe(0)
    const { lastId } = outboxState(stateDir)
    const gaps = async () =>
      (
        await querySql(
          httpUrl,
          "SELECT dropped, before_id FROM entry_gaps WHERE agent = 'edge-u' AND kind = 'urls'",
        )
      ).map((g) => ({
        dropped: Number(g.dropped),
        beforeId: Number(g.before_id),
      }))
    await waitFor(
      "the last result stored",
      async () => Number((await rowsOf("tiny")).at(-1)?.entry_id) === lastId,
      30_000,
    )
    const rows = await rowsOf("tiny")
    const reported = await gaps()
    const dropped = reported.reduce((n, g) => n + g.dropped, 0)
    expect(dropped).toBeGreaterThan(0)
    expect(new Set(rows.map((r) => r.entry_id)).size).toBe(rows.length)
    // drops are the oldest ids, so the first id the outbox gave was dropped or stored: every id from it on is one
    const first = Math.min(Number(rows[0]?.entry_id), ...reported.map((g) => g.beforeId - g.dropped))
    expect(rows.length + dropped).toBe(lastId - first + 1)
    const metrics = await (await fetch(`${httpUrl}/metrics`)).text()
    expect(metrics).toContain(`outpost_collector_entries_dropped_total{kind="urls"} ${dropped}`)
  })
})
