import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import {
  collectorCommand,
  freePort,
  spawnLogged,
  startNatsServer,
  tempDir,
  waitFor,
  writeConfig,
} from "../../test/harness/index.ts"

setDefaultTimeout(60_000)

const TOKEN = "shutdown-token-0123456789"

describe("collector with a long /sql query", () => {
  test("SIGTERM ends the process at once; health and status answer while the query runs", async () => {
    await using nats = await startNatsServer()
    await using dir = tempDir()
    writeFileSync(join(dir.path, "keys"), "")
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const config = writeConfig(join(dir.path, "collector.json"), {
      data_dir: join(dir.path, "data"),
      enrolled_keys: join(dir.path, "keys"),
      nats: { url: nats.url },
      http: { port, token: TOKEN },
      sql: { timeout_ms: 120_000 },
    })
    // Four native threads: two query slots beside the writer's thread (query-pool-native.ts).
    const collector = spawnLogged(collectorCommand(config), join(dir.path, "collector.log"), {
      UV_THREADPOOL_SIZE: "4",
    })
    try {
      await waitFor(
        "collector health",
        async () => (await fetch(`${url}/health`).catch(() => null))?.ok === true,
      )
      const auth = { authorization: `Bearer ${TOKEN}` }
      const q = encodeURIComponent("SELECT sum(hash(i)) FROM range(4000000000) t(i)")
      const long = fetch(`${url}/sql?q=${q}`, { headers: auth }).then(
        (r) => r.status,
        () => "closed",
      )
      const status = async () => (await fetch(`${url}/status`, { headers: auth })).status
      // A second query slot is free: /status answers beside the long query.
      await waitFor("status beside the long query", async () => (await status()) === 200)
      const started = performance.now()
      const code = await collector.stop()
      // Behind the writer's queue the long query held shutdown for its whole run (about 20 s here).
      expect(performance.now() - started).toBeLessThan(5000)
      expect(code).toBe(0)
      expect(["closed", 503]).toContain(await long)
    } finally {
      await collector.kill9()
    }
  })
})
