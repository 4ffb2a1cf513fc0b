import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import type { ReceivedEnvelope } from "../../../shared/protocol/envelope.ts"
import { decodeLogsBody, encodeLogsBody, type LogPart } from "../../../shared/protocol/logs-body.ts"
import { tempDir } from "../../../test/harness/index.ts"
import type { AcceptedEnvelope } from "./types.ts"
import { DuckDbWriter } from "./writer.ts"

const te = new TextEncoder()
let seq = 1

/** An accepted logs envelope with one raw part of `lines` starting at byte `offset` of generation `gen`. */
function rawEnvelope(
  gen: string,
  offset: number,
  lines: string[],
  extra: { bytes?: Uint8Array } = {},
): AcceptedEnvelope {
  const bytes = extra.bytes ?? te.encode(lines.map((l) => `${l}\n`).join(""))
  const part: LogPart = { f: 0, o: offset, n: bytes.length, raw: 1, at: 1_700_000_000_000 }
  const body = encodeLogsBody(
    [{ path: "/var/log/app.log", gen }],
    [{ f: 0, s: offset, e: offset + bytes.length }],
    [part],
    [bytes],
  )
  const meta = {
    agent: "edge-1",
    host: "web-1",
    kind: "logs",
    seq: seq++,
    count: lines.length,
    sentAt: 1,
    id: "x",
  }
  return {
    meta: meta as unknown as ReceivedEnvelope,
    streamSeq: seq,
    bytes: body.length,
    logs: decodeLogsBody(body),
  }
}

/** A single-line part (no `raw`): a truncated line, the last line without its newline, or a matched line. */
type LinePart = { o: number; text: string; t?: 1; r?: string }

/** An accepted logs envelope of single-line parts of generation `gen`, without spans. */
function lineEnvelope(gen: string, parts: LinePart[]): AcceptedEnvelope {
  const chunks = parts.map((p) => te.encode(p.text))
  const manifest: LogPart[] = parts.map((p, i) => ({
    f: 0,
    o: p.o,
    n: (chunks[i] as Uint8Array).length,
    ...(p.t ? { t: p.t } : {}),
    ...(p.r ? { r: p.r } : {}),
    at: 1_700_000_000_000,
  }))
  const body = encodeLogsBody([{ path: "/var/log/app.log", gen }], [], manifest, chunks)
  const meta = { agent: "edge-1", host: "web-1", kind: "logs", seq: seq++, count: parts.length, sentAt: 1 }
  return {
    meta: meta as unknown as ReceivedEnvelope,
    streamSeq: seq,
    bytes: body.length,
    logs: decodeLogsBody(body),
  }
}

async function lines(w: DuckDbWriter): Promise<Array<[number, string]>> {
  const rows = await w.query(`SELECT "offset", line FROM logs ORDER BY gen, "offset"`)
  return rows.map((r) => [Number(r.offset), String(r.line)])
}

describe("DuckDbWriter", () => {
  test("writes lines with byte offsets and skips lines already stored after a re-read", async () => {
    await using dir = tempDir()
    const w = await DuckDbWriter.open(join(dir.path, "o.duckdb"))
    const r1 = await w.write({
      accepted: [rawEnvelope("g1", 0, ["a", "bb", "ccc"])],
      rejected: [],
      receivedAt: 1,
    })
    expect(r1.linesWritten).toBe(3)
    // An agent crash makes it re-read from offset 2 ("bb") and ship more lines in a new envelope.
    const r2 = await w.write({
      accepted: [rawEnvelope("g1", 2, ["bb", "ccc", "dddd"])],
      rejected: [],
      receivedAt: 2,
    })
    expect(r2.linesWritten).toBe(1)
    expect(await lines(w)).toEqual([
      [0, "a"],
      [2, "bb"],
      [5, "ccc"],
      [9, "dddd"],
    ])
    await w.close()
  })

  test("out-of-order envelopes fill gaps without duplicates, and state survives reopening", async () => {
    await using dir = tempDir()
    const path = join(dir.path, "o.duckdb")
    let w = await DuckDbWriter.open(path)
    const late = rawEnvelope("g2", 6, ["cc", "dd"])
    await w.write({ accepted: [late], rejected: [], receivedAt: 1 })
    expect(w.hasEnvelope("edge-1", late.meta.seq)).toBe(true)
    await w.close()
    w = await DuckDbWriter.open(path)
    expect(w.hasEnvelope("edge-1", late.meta.seq)).toBe(true)
    await w.write({ accepted: [rawEnvelope("g2", 0, ["aa", "bb", "cc"])], rejected: [], receivedAt: 2 })
    expect(await lines(w)).toEqual([
      [0, "aa"],
      [3, "bb"],
      [6, "cc"],
      [9, "dd"],
    ])
    await w.close()
  })

  test("invalid UTF-8 keeps true offsets; rejected envelopes are recorded", async () => {
    await using dir = tempDir()
    const w = await DuckDbWriter.open(join(dir.path, "o.duckdb"))
    const bytes = new Uint8Array([0x61, 0x0a, 0xff, 0xfe, 0x0a, 0x62, 0x0a])
    await w.write({
      accepted: [rawEnvelope("g3", 100, ["a", "??", "b"], { bytes })],
      rejected: [
        {
          reason: "signature",
          message: "bad",
          subject: "outpost.logs.x",
          agent: "x",
          headers: { a: "b" },
          size: 9,
        },
      ],
      receivedAt: 3,
    })
    expect(await lines(w)).toEqual([
      [100, "a"],
      [102, "\uFFFD\uFFFD"],
      [105, "b"],
    ])
    const errors = await w.query("SELECT reason, agent, size, headers->>'a' AS a FROM processing_errors")
    expect(errors).toEqual([{ reason: "signature", agent: "x", size: 9, a: "b" }])
    await w.close()
  })

  test("a failed batch rolls back everything, including dedup state", async () => {
    await using dir = tempDir()
    const w = await DuckDbWriter.open(join(dir.path, "o.duckdb"))
    const env = rawEnvelope("g4", 0, ["x"])
    const broken = { reason: "signature", message: "m", subject: "s", headers: {}, size: Number.NaN } as never
    await expect(w.write({ accepted: [env], rejected: [broken], receivedAt: 1 })).rejects.toThrow()
    expect(w.hasEnvelope("edge-1", env.meta.seq)).toBe(false)
    expect(await lines(w)).toEqual([])
    await w.write({ accepted: [env], rejected: [], receivedAt: 1 })
    expect(await lines(w)).toEqual([[0, "x"]])
    await w.close()
  })

  test("envelope ids are forgotten in memory once they are older than the stream can deliver", async () => {
    await using dir = tempDir()
    let clock = 1_000_000
    const w = await DuckDbWriter.open(join(dir.path, "o.duckdb"), {
      rememberEnvelopesMs: 50,
      now: () => clock,
    })
    const a = rawEnvelope("g5", 0, ["a"])
    await w.write({ accepted: [a], rejected: [], receivedAt: clock })
    clock += 60
    const b = rawEnvelope("g5", 2, ["b"])
    await w.write({ accepted: [b], rejected: [], receivedAt: clock })
    expect(w.hasEnvelope("edge-1", a.meta.seq)).toBe(true)
    clock += 60
    await w.write({ accepted: [rawEnvelope("g5", 4, ["c"])], rejected: [], receivedAt: clock })
    expect(w.hasEnvelope("edge-1", a.meta.seq)).toBe(false)
    expect(w.hasEnvelope("edge-1", b.meta.seq)).toBe(true)
    await w.close()
  })
})

describe("DuckDbWriter: single-line parts are deduplicated like raw blocks", () => {
  // Spans are left out on purpose: the part itself must mark its offset as stored.
  test.each<[string, LinePart]>([
    ["a truncated line", { o: 40, text: "x".repeat(64), t: 1 }],
    ["the last line of a file, without its newline", { o: 40, text: "tail without newline" }],
    ["a line matched by a rule (match mode)", { o: 40, text: "ERROR disk full", r: "errors" }],
  ])("%s sent in two envelopes is one row", async (_name, part) => {
    await using dir = tempDir()
    const path = join(dir.path, "o.duckdb")
    let w = await DuckDbWriter.open(path)
    const stored = () =>
      w.query(`SELECT gen, "offset", line, truncated, rule FROM logs ORDER BY gen, "offset"`)
    // Across batches (committed coverage), then in one batch (the batch's working coverage).
    expect(
      (await w.write({ accepted: [lineEnvelope("a", [part])], rejected: [], receivedAt: 1 })).linesWritten,
    ).toBe(1)
    expect(
      (await w.write({ accepted: [lineEnvelope("a", [part])], rejected: [], receivedAt: 2 })).linesWritten,
    ).toBe(0)
    const both = [lineEnvelope("b", [part]), lineEnvelope("b", [part])]
    expect((await w.write({ accepted: both, rejected: [], receivedAt: 3 })).linesWritten).toBe(1)
    await w.close()
    // And after a restart, when coverage is read back from DuckDB.
    w = await DuckDbWriter.open(path)
    expect(
      (await w.write({ accepted: [lineEnvelope("a", [part])], rejected: [], receivedAt: 4 })).linesWritten,
    ).toBe(0)
    const row = { offset: 40, line: part.text, truncated: part.t === 1, rule: part.r ?? null }
    expect(await stored()).toEqual([
      { gen: "a", ...row },
      { gen: "b", ...row },
    ])
    await w.close()
  })

  test("a line part next to a stored one is still written (its own offset is not covered)", async () => {
    await using dir = tempDir()
    const w = await DuckDbWriter.open(join(dir.path, "o.duckdb"))
    await w.write({ accepted: [lineEnvelope("c", [{ o: 0, text: "first" }])], rejected: [], receivedAt: 1 })
    const again = lineEnvelope("c", [
      { o: 0, text: "first" },
      { o: 5, text: "second" },
    ])
    expect((await w.write({ accepted: [again], rejected: [], receivedAt: 2 })).linesWritten).toBe(1)
    expect(await lines(w)).toEqual([
      [0, "first"],
      [5, "second"],
    ])
    await w.close()
  })
})
