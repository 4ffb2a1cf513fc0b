import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { join } from "node:path"
import type { ReceivedEnvelope } from "../../../shared/protocol/envelope.ts"
import {
  decodeLogsBody,
  encodeLogsBody,
  type LogFileRef,
  type LogPart,
  MAX_LOGS_PARTS,
} from "../../../shared/protocol/logs-body.ts"
import { tempDir } from "../../../test/harness/index.ts"
import type { AcceptedEnvelope } from "./types.ts"
import { DuckDbWriter } from "./writer.ts"

// 200,000 rows through a real DuckDB file on a shared machine.
setDefaultTimeout(60_000)

const te = new TextEncoder()
let seq = 1

/** An accepted logs envelope of one-line parts: `[file index, offset, text]` each. */
function envelope(files: LogFileRef[], lines: Array<[number, number, string]>): AcceptedEnvelope {
  const chunks = lines.map(([, , text]) => te.encode(text))
  const parts: LogPart[] = lines.map(([f, o], i) => ({ f, o, n: (chunks[i] as Uint8Array).length, at: 1 }))
  const body = encodeLogsBody(files, [], parts, chunks)
  const meta = { agent: "edge-1", host: "web-1", kind: "logs", seq: seq++, count: lines.length, sentAt: 1 }
  return {
    meta: meta as unknown as ReceivedEnvelope,
    streamSeq: seq,
    bytes: body.length,
    logs: decodeLogsBody(body),
  }
}

const write = (w: DuckDbWriter, accepted: AcceptedEnvelope[]) =>
  w.write({ accepted, rejected: [], receivedAt: 1 })
const rows = async (w: DuckDbWriter) => Number((await w.query("SELECT count(*) AS n FROM log_lines"))[0]?.n)
const files = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ path: "/a", gen: `g${from + i}` }))

describe("DuckDbWriter under hostile input", () => {
  test("three parts at the same offset in one envelope make one row", async () => {
    await using dir = tempDir()
    const w = await DuckDbWriter.open(join(dir.path, "o.duckdb"))
    const file = [{ path: "/a", gen: "g" }]
    const result = await write(w, [
      envelope(file, [
        [0, 7, "x"],
        [0, 7, "x"],
        [0, 7, "x"],
      ]),
    ])
    expect(result.linesWritten).toBe(1)
    expect(await w.query(`SELECT "offset", line FROM logs`)).toEqual([{ offset: 7, line: "x" }])
    await w.close()
  })

  test("more file generations than the cache holds: evicted ones are read back, old lines never repeat", async () => {
    await using dir = tempDir()
    const path = join(dir.path, "o.duckdb")
    const oldLines = (n: number) => files(n).map((_, f) => [f, 0, `old ${f}`] as [number, number, string])
    let w = await DuckDbWriter.open(path, { maxCachedFiles: 3 })
    // 12 generations, 4 per envelope and one batch each: the cache of 3 evicts as it goes.
    for (let b = 0; b < 3; b++) {
      const gens = files(4, 4 * b)
      await write(w, [
        envelope(
          gens,
          gens.map((_, f) => [f, 0, `old ${4 * b + f}`]),
        ),
      ])
    }
    expect(await rows(w)).toBe(12)
    expect(w.cachedFiles).toBe(3)
    const resend = async () => {
      // The old lines again (an agent re-reading after a crash), each generation once more, plus one new line each.
      const all = files(12)
      const again = envelope(all, [
        ...oldLines(12),
        ...all.map((_, f) => [f, 10, `new ${f}`] as [number, number, string]),
      ])
      return (await write(w, [again])).linesWritten
    }
    expect(await resend()).toBe(12)
    expect(await resend()).toBe(0)
    expect(await w.query("SELECT count(*) AS n FROM log_files")).toEqual([{ n: 12 }])
    await w.close()
    w = await DuckDbWriter.open(path, { maxCachedFiles: 3 })
    expect(await resend()).toBe(0)
    const dupes = await w.query(
      `SELECT count(*) AS n FROM (SELECT file_id, "offset" FROM log_lines GROUP BY ALL HAVING count(*) > 1)`,
    )
    expect(dupes).toEqual([{ n: 0 }])
    expect(await rows(w)).toBe(24)
    await w.close()
  })

  test("200,000 one-byte parts at gapped offsets: the event loop keeps ticking, rows are the distinct offsets", async () => {
    await using dir = tempDir()
    const w = await DuckDbWriter.open(join(dir.path, "o.duckdb"))
    const file = [{ path: "/a", gen: "g" }]
    // Two envelopes at the part bound; offsets 2k repeat within and across them: 130,000 distinct lines.
    const offsets = (from: number) =>
      Array.from(
        { length: MAX_LOGS_PARTS },
        (_, i) => [0, 2 * (from + ((i * 7919) % 80_000)), "x"] as [number, number, string],
      )
    const a = envelope(file, offsets(0))
    const b = envelope(file, offsets(50_000))
    let last = performance.now()
    let maxGap = 0
    const ticker = setInterval(() => {
      const now = performance.now()
      maxGap = Math.max(maxGap, now - last)
      last = now
    }, 10)
    try {
      const result = await write(w, [a, b])
      expect(result.linesWritten).toBe(130_000)
    } finally {
      clearInterval(ticker)
    }
    // The old staging blocked for minutes here; each stretch without a yield must now stay far below a second.
    if (process.env.OUTPOST_TEST_LOG) console.log(`longest event loop stall: ${Math.round(maxGap)} ms`)
    expect(maxGap).toBeLessThan(1000)
    expect(await w.query(`SELECT count(*) AS n, count(DISTINCT "offset") AS d FROM log_lines`)).toEqual([
      { n: 130_000, d: 130_000 },
    ])
    await w.close()
  })
})
