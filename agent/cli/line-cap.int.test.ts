import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { waitFor } from "../../test/harness/index.ts"
import { startAgentRig } from "./test-support.ts"

// Starts real nats-server and agent processes: give a busy 2-core machine room.
setDefaultTimeout(60_000)

const MiB = 1024 * 1024
const TWO_MB_LINE = "x".repeat(2_000_000)

describe("a line cap the server cannot take", () => {
  test("max_line_bytes 4 MiB against a 1 MiB max_payload: refused at start, naming the field and the limits", async () => {
    await using rig = await startAgentRig()
    expect(rig.nc.info?.max_payload).toBe(MiB)
    const log = join(rig.logsDir, "app.log")
    writeFileSync(log, `${TWO_MB_LINE}\nafter\n`)
    // batch.max_bytes 8 MiB lets the cap pass the config check; only the server's max_payload rules it out
    const config = rig.config([{ name: "app", paths: [log], max_line_bytes: 4 * MiB }], {
      batch: { max_wait_ms: 20, max_bytes: 8 * MiB },
    })
    const agent = rig.spawn(config)
    expect(await agent.proc.exited).toBe(2)
    const output = await Bun.file(agent.logPath).text()
    expect(output).toContain(
      "logs[app].max_line_bytes: 4194304 does not fit one envelope: the envelope limit is 983040 bytes " +
        "(the server's max_payload 1048576 minus 65536 for headers and manifest)",
    )
    expect(output).toContain("set max_line_bytes to at most 982016")
    expect(await rig.shipped()).toEqual([])
  })

  test("a cap that fits: a 2 MB line is cut to the cap and shipped, a line just under the cap ships whole", async () => {
    await using rig = await startAgentRig()
    const cap = 900 * 1024
    const log = join(rig.logsDir, "app.log")
    const underCap = "y".repeat(cap - 1)
    writeFileSync(log, `${TWO_MB_LINE}\n${underCap}\nafter\n`)
    const config = rig.config([{ name: "app", paths: [log], max_line_bytes: cap }], {
      batch: { max_wait_ms: 20, max_bytes: 8 * MiB },
    })
    const agent = await rig.start(config)
    await waitFor("all three lines", async () => (await rig.shipped()).length === 3)
    const [long, under, after] = await rig.shipped()
    expect(long).toMatchObject({ offset: 0, truncated: true })
    expect(long?.text).toBe("x".repeat(cap))
    expect(under).toMatchObject({ offset: TWO_MB_LINE.length + 1, truncated: false })
    expect(under?.text.length).toBe(cap - 1)
    expect(after).toMatchObject({ text: "after", truncated: false })
    expect(await agent.stop()).toBe(0)
  })
})
