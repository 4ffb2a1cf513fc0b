import { describe, expect, test } from "bun:test"
import {
  type DecodedLogsBody,
  decodeLogsBody,
  encodeLogsBody,
  type LogPart,
  type LogSpan,
} from "../../../shared/protocol/logs-body.ts"
import { type Range, rangeSteps } from "./coverage.ts"
import {
  fileIdOf,
  STAGE_YIELD_EVERY_PARTS,
  type StagedFile,
  type StagedPart,
  stageLogsBody,
} from "./log-parts.ts"

const te = new TextEncoder()

/** A part and its payload: `raw` is a block of "\n"-terminated lines, otherwise one line. */
type P = { o: number; text: string; raw?: boolean; f?: number }

function body(parts: P[], spans: LogSpan[] = [], gens = ["g1"]): DecodedLogsBody {
  const chunks = parts.map((p) => te.encode(p.text))
  const manifest: LogPart[] = parts.map((p, i) => ({
    f: p.f ?? 0,
    o: p.o,
    n: (chunks[i] as Uint8Array).length,
    at: 1,
    ...(p.raw ? { raw: 1 as const } : {}),
  }))
  return decodeLogsBody(
    encodeLogsBody(
      gens.map((gen) => ({ path: "/var/log/app.log", gen })),
      spans,
      manifest,
      chunks,
    ),
  )
}

/** (offset, line) of each staged line, raw blocks split as DuckDB will split them. */
function lines(parts: StagedPart[]): Array<[number, string]> {
  const out: Array<[number, string]> = []
  for (const p of parts) {
    if (!p.raw) out.push([p.offset, p.text ?? ""])
    else {
      let at = p.offset
      for (const line of new TextDecoder().decode(p.block).split("\n")) {
        out.push([at, line])
        at += line.length + 1
      }
    }
  }
  return out.sort((a, b) => a[0] - b[0])
}

async function stage(bodies: DecodedLogsBody[], coverage = new Map<bigint, Range[]>()) {
  const out = { parts: [] as StagedPart[], files: [] as StagedFile[] }
  for (const b of bodies) await stageLogsBody("edge-1", "web-1", b, coverage, out)
  return { lines: lines(out.parts), coverage }
}

describe("staging a logs body", () => {
  test.each<[string, DecodedLogsBody[], Array<[number, string]>]>([
    [
      "three line parts at the same offset in one envelope",
      [
        body([
          { o: 5, text: "x" },
          { o: 5, text: "x" },
          { o: 5, text: "x" },
        ]),
      ],
      [[5, "x"]],
    ],
    [
      "overlapping raw parts in one envelope",
      [
        body([
          { o: 0, text: "a\nbb\n", raw: true },
          { o: 2, text: "bb\nccc\n", raw: true },
        ]),
      ],
      [
        [0, "a"],
        [2, "bb"],
        [5, "ccc"],
      ],
    ],
    [
      "the same raw part twice, listed out of order with a third",
      [
        body([
          { o: 4, text: "c\n", raw: true },
          { o: 0, text: "a\nb\n", raw: true },
          { o: 0, text: "a\nb\n", raw: true },
        ]),
      ],
      [
        [0, "a"],
        [2, "b"],
        [4, "c"],
      ],
    ],
    [
      "a line part and a raw part starting at the same offset",
      [
        body([
          { o: 0, text: "a\nb\n", raw: true },
          { o: 0, text: "a" },
        ]),
      ],
      [
        [0, "a"],
        [2, "b"],
      ],
    ],
    [
      "two envelopes of one batch repeating a line",
      [body([{ o: 0, text: "a\nb\n", raw: true }]), body([{ o: 2, text: "b\nc\n", raw: true }])],
      [
        [0, "a"],
        [2, "b"],
        [4, "c"],
      ],
    ],
    [
      "a span of an earlier envelope covers a later line (match mode read it and dropped it)",
      [
        body([], [{ f: 0, s: 0, e: 10 }]),
        body([
          { o: 4, text: "x" },
          { o: 10, text: "y" },
        ]),
      ],
      [[10, "y"]],
    ],
    [
      "the same offset in two generations is two lines",
      [
        body(
          [
            { o: 0, text: "a" },
            { o: 0, text: "b", f: 1 },
          ],
          [],
          ["g1", "g2"],
        ),
      ],
      [
        [0, "a"],
        [0, "b"],
      ],
    ],
  ])("%s", async (_name, bodies, expected) => {
    expect((await stage(bodies)).lines).toEqual(expected)
  })

  test("two file entries with the same generation share one coverage list", async () => {
    const { lines, coverage } = await stage([
      body(
        [
          { o: 0, text: "a" },
          { o: 0, text: "a", f: 1 },
        ],
        [],
        ["g1", "g1"],
      ),
    ])
    expect(lines).toEqual([[0, "a"]])
    expect(coverage.get(fileIdOf("edge-1", "g1"))).toEqual([{ start: 0, end: 1 }])
  })

  test("coverage gets the spans and parts, merged", async () => {
    const { coverage } = await stage([
      body(
        [
          { o: 20, text: "late\n", raw: true },
          { o: 0, text: "x" },
        ],
        [{ f: 0, s: 0, e: 10 }],
      ),
    ])
    expect(coverage.get(fileIdOf("edge-1", "g1"))).toEqual([
      { start: 0, end: 10 },
      { start: 20, end: 25 },
    ])
  })

  test("200,000 one-byte parts at gapped, shuffled offsets stage in about n log n range steps", async () => {
    const n = 200_000
    const offsets = Array.from({ length: n }, (_, i) => 2 * i)
    for (let i = n - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1)
      ;[offsets[i], offsets[j]] = [offsets[j] as number, offsets[i] as number]
    }
    // Built directly: the decoder would refuse more than MAX_LOGS_PARTS, but staging must not care.
    const hostile: DecodedLogsBody = {
      manifest: {
        v: 1,
        files: [{ path: "/p", gen: "g" }],
        spans: [],
        parts: offsets.map((o) => ({ f: 0, o, n: 1, at: 1 })),
      },
      payload: new Uint8Array(n).fill(0x78),
      lines: n,
    }
    const out = { parts: [] as StagedPart[], files: [] as StagedFile[] }
    const coverage = new Map([[fileIdOf("edge-1", "g"), [{ start: 3 * n, end: 3 * n + 1 }]]])
    let pauses = 0
    const before = rangeSteps.count
    await stageLogsBody("edge-1", "web-1", hostile, coverage, out, async () => {
      pauses++
    })
    const steps = rangeSteps.count - before
    expect(out.parts.length).toBe(n)
    expect(coverage.get(fileIdOf("edge-1", "g"))?.length).toBe(n + 1)
    // Per part: one binary search over a one-range list; then one sort and one merge pass.
    // The old code walked the whole growing list for every part: about n^2 / 2 = 2e10 steps.
    expect(steps).toBeLessThan(10 * n)
    expect(pauses).toBe(Math.floor(n / STAGE_YIELD_EVERY_PARTS))
  })

  test("a second envelope over a file with 100,000 ranges costs a search per part plus one merge pass", async () => {
    const n = 100_000
    const first = body(Array.from({ length: n }, (_, i) => ({ o: 2 * i, text: "x" })))
    const coverage = new Map<bigint, Range[]>()
    await stage([first], coverage)
    const before = rangeSteps.count
    const again = await stage(
      [body(Array.from({ length: n }, (_, i) => ({ o: 2 * i + 2, text: "x" })))],
      coverage,
    )
    const steps = rangeSteps.count - before
    expect(again.lines).toEqual([[2 * n, "x"]])
    // n binary searches of log2(100,000) ~ 17 steps, a sort of n and a merge of 2n: about 20n, never n^2 = 1e10.
    expect(steps).toBeLessThan(25 * n)
  })
})
