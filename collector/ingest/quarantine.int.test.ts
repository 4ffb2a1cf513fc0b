import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test"
import { appendFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { watchCollectorStatus } from "../../agent/transport/collector-status.ts"
import { parseConfig } from "../../shared/config/load.ts"
import { HEADER } from "../../shared/protocol/envelope.ts"
import { formatPublicKeyLine, keyId } from "../../shared/protocol/keys.ts"
import {
  logsEnvelope,
  type NatsServer,
  newTestKey,
  publishEnvelope,
  recordingLogger,
  startNatsServer,
  type TestKey,
  tempDir,
  waitFor,
} from "../../test/harness/index.ts"
import { CollectorConfigSchema } from "../config/schema.ts"
import { type RunningCollector, startCollector } from "../service.ts"

setDefaultTimeout(60_000)

const newKey = newTestKey
let seq = 1

function envelope(
  agent: string,
  key: TestKey,
  lines: string[],
  offset = 0,
  opts: { badSignature?: boolean } = {},
) {
  const env = logsEnvelope({ agent, key, seq: seq++, lines, offset })
  if (opts.badSignature) env.headers[HEADER.signature] = Buffer.alloc(64, 9).toString("base64")
  return env
}

describe("quarantine: envelopes refused for a reason an operator can fix are kept and ingested later", () => {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const fn of cleanup.reverse()) await fn()
    cleanup.length = 0
  })

  async function setup(overrides: Record<string, unknown> = {}) {
    const nats: NatsServer = await startNatsServer()
    const dir = tempDir()
    cleanup.push(async () => {
      await nats[Symbol.asyncDispose]()
      await dir[Symbol.asyncDispose]()
    })
    const keysFile = join(dir.path, "enrolled_keys")
    writeFileSync(keysFile, "# no agents yet\n")
    const configOf = (extra: Record<string, unknown>) =>
      parseConfig(
        {
          data_dir: dir.path,
          enrolled_keys: keysFile,
          nats: { url: nats.url },
          http: { port: 0 },
          consumer: { batch_max_wait_ms: 10 },
          ...overrides,
          ...extra,
        },
        CollectorConfigSchema,
      )
    const log = recordingLogger("collector")
    const logs = log.messages
    const start = async (extra: Record<string, unknown> = {}) => {
      const c = await startCollector(configOf(extra), log)
      cleanup.push(() => c.stop())
      return c
    }
    const nc: NatsConnection = await connect({ servers: nats.url })
    cleanup.push(() => nc.close())
    const publish = (env: ReturnType<typeof envelope>) => publishEnvelope(jetstream(nc), env)
    const jsm = await jetstreamManager(nc)
    const quarantined = async () => {
      try {
        return (await jsm.streams.info("OUTPOST_QUARANTINE")).state.messages
      } catch {
        return -1
      }
    }
    return { nats, dir, keysFile, start, publish, quarantined, logs, nc }
  }

  const rows = async (c: RunningCollector, q = "SELECT count(*) AS n FROM logs") => {
    const res = await fetch(`${c.httpUrl}/sql?q=${encodeURIComponent(q)}`)
    return Number(((await res.json()) as { rows: Array<{ n: number }> }).rows[0]?.n ?? -1)
  }

  test("an agent not enrolled yet: its lines arrive once its key is enrolled, without a restart", async () => {
    const t = await setup()
    const c = await t.start()
    const key = newKey()
    for (let i = 0; i < 3; i++)
      await t.publish(envelope("late-1", key, [`line ${i}a`, `line ${i}b`], i * 100))
    // A forgery in the name of the same agent waits too, but must be rejected once the key is known.
    await t.publish(envelope("late-1", newKey(), ["forged"], 900))
    await waitFor("4 envelopes in the quarantine", async () => (await t.quarantined()) === 4)
    expect(await rows(c)).toBe(0)
    const statusPage = (await (await fetch(`${c.httpUrl}/status`)).json()) as {
      quarantine: { messages: number; groups: Array<{ reason: string; agent: string; messages: number }> }
    }
    expect(statusPage.quarantine.messages).toBe(4)
    expect(statusPage.quarantine.groups).toEqual([{ reason: "unknown_agent", agent: "late-1", messages: 4 }])
    const notes = await rows(c, "SELECT count(*) AS n FROM processing_errors WHERE reason = 'unknown_agent'")
    expect(notes).toBe(4)
    // The agent's side: it asks, and says loudly that the collector does not know it, with the command to run.
    const agentLog: string[] = []
    // As the agent connects: replies only ever come to its own inbox prefix.
    const agentNc = await connect({ servers: t.nats.url, inboxPrefix: "_INBOX_late-1" })
    cleanup.push(() => agentNc.close())
    const status = watchCollectorStatus({
      nc: agentNc,
      agent: "late-1",
      keyId: keyId(key.publicKeyRaw),
      publicKeyLine: formatPublicKeyLine(key.publicKeyRaw, "late-1"),
      log: (m) => agentLog.push(m),
    })
    cleanup.push(async () => status.stop())
    await waitFor("the agent's warning", () =>
      agentLog.some((l) => l.includes("does not know agent 'late-1'")),
    )
    expect(agentLog[0]).toContain(`outpost-collector enroll --config <collector.toml> 'outpost-ed25519 `)
    appendFileSync(t.keysFile, `${formatPublicKeyLine(key.publicKeyRaw, "late-1")}\n`)
    await waitFor("6 lines ingested", async () => (await rows(c)) === 6)
    await status.check()
    expect(agentLog.at(-1)).toContain("the collector knows agent 'late-1' now")
    await waitFor("quarantine holds only the forgery", async () => (await t.quarantined()) === 1)
    // The forgery is now judged with the enrolled key: unknown_key (another key id) stays quarantined.
    expect(await rows(c, "SELECT count(*) AS n FROM processing_errors WHERE reason = 'unknown_key'")).toBe(0)
    expect(t.logs.some((l) => l.includes("enrolled_keys reloaded"))).toBe(true)
    const metrics = await (await fetch(`${c.httpUrl}/metrics`)).text()
    expect(metrics).toContain("outpost_collector_quarantine_ingested_total 3")
    // Explicit discard empties it.
    await c.discardQuarantine({ agent: "late-1" })
    await waitFor("quarantine empty", async () => (await t.quarantined()) === 0)
  })

  test("a bad signature from an agent enrolled later is rejected on replay and leaves the quarantine", async () => {
    const t = await setup()
    const c = await t.start()
    const key = newKey()
    await t.publish(envelope("late-2", key, ["forged"], 0, { badSignature: true }))
    await waitFor("quarantined", async () => (await t.quarantined()) === 1)
    appendFileSync(t.keysFile, `${formatPublicKeyLine(key.publicKeyRaw, "late-2")}\n`)
    await waitFor(
      "rejected as signature",
      async () =>
        (await rows(c, "SELECT count(*) AS n FROM processing_errors WHERE reason = 'signature'")) === 1,
    )
    await waitFor("quarantine empty", async () => (await t.quarantined()) === 0)
    expect(await rows(c)).toBe(0)
  })

  test("an envelope over max_envelope_bytes is kept and ingested after the limit is raised", async () => {
    const t = await setup({ max_envelope_bytes: 2048 })
    const key = newKey()
    writeFileSync(t.keysFile, `${formatPublicKeyLine(key.publicKeyRaw, "big-1")}\n`)
    const first = await t.start()
    const lines = Array.from({ length: 100 }, (_, i) => `${i} ${"x".repeat(60)}`)
    await t.publish(envelope("big-1", key, lines))
    await waitFor("quarantined as oversized", async () => (await t.quarantined()) === 1)
    expect(await rows(first)).toBe(0)
    await first.stop()
    const second = await t.start({ max_envelope_bytes: 512 * 1024 })
    await waitFor("100 lines after the limit was raised", async () => (await rows(second)) === 100)
    await waitFor("quarantine empty", async () => (await t.quarantined()) === 0)
  })
})
