import { expect, setDefaultTimeout, test } from "bun:test"
import { connect } from "@nats-io/transport-node"
import { recordingLogger, startNatsServer, waitFor } from "../../test/harness/index.ts"
import { watchNatsConnection } from "./connection-watch.ts"

setDefaultTimeout(60_000)

test("an outage is logged once, then once a minute while it lasts, and its end once", async () => {
  await using nats = await startNatsServer()
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 })
  const log = recordingLogger()
  let clock = Date.now()
  const connected: boolean[] = []
  let reconnects = 0
  const watch = watchNatsConnection(nc, {
    log,
    now: () => clock,
    onConnected: (up) => connected.push(up),
    onReconnect: () => reconnects++,
  })
  let attempts = 0
  void (async () => {
    for await (const s of nc.status()) if (s.type === "reconnecting") attempts++
  })()
  try {
    expect(watch.up).toBe(true)
    await nats.stop()
    await waitFor("five reconnect attempts", () => attempts >= 5)
    expect(watch.up).toBe(false)
    expect(watch.problem).toMatch(/^nats: disconnected from 127\.0\.0\.1:\d+ since \S+Z: .+/)
    expect(log.lines.map((l) => [l.level, l.message])).toEqual([
      ["warn", `NATS disconnected from 127.0.0.1:${nats.port}: connection closed; reconnecting`],
    ])
    clock += 61_000
    await waitFor("the next attempt", () => log.lines.length === 2)
    expect(log.lines[1]?.level).toBe("warn")
    expect(log.lines[1]?.message).toMatch(
      /^NATS still disconnected after 61 s; reconnecting \(\d+ more like it in the last 61 s\)$/,
    )
    await nats.start()
    await waitFor("the reconnect", () => watch.up)
    expect(log.lines.at(-1)).toMatchObject({
      level: "info",
      message: `NATS reconnected to 127.0.0.1:${nats.port} after 61 s`,
    })
    expect(log.lines).toHaveLength(3)
    expect(watch.problem).toBeUndefined()
    expect(connected).toEqual([true, false, true])
    expect(reconnects).toBe(1)
  } finally {
    await nc.close()
  }
})
