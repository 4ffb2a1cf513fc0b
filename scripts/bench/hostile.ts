#!/usr/bin/env bun
/**
 * bench:hostile — cost of a hostile but validly signed logs envelope: many one-byte parts at gapped, shuffled
 * offsets (the worst case for line dedup). For each size: decode, staging alone, and the whole DuckDB write of a
 * fresh file, then the same parts again (all duplicates, checked against the stored coverage), with the longest
 * stretch the event loop was blocked and the range-list steps taken. Sizes above MAX_LOGS_PARTS are split into
 * envelopes of at most that many parts, as an agent would have to.
 *
 *   bun run bench:hostile [--sizes 10000,100000,200000] [--keep]
 *   (each flag also as BENCH_<NAME>)
 */
import { join } from "node:path"
import { rangeSteps } from "../../collector/sinks/duckdb/coverage.ts"
import { type StagedFile, type StagedPart, stageLogsBody } from "../../collector/sinks/duckdb/log-parts.ts"
import type { AcceptedEnvelope } from "../../collector/sinks/duckdb/types.ts"
import { DuckDbWriter } from "../../collector/sinks/duckdb/writer.ts"
import type { ReceivedEnvelope } from "../../shared/protocol/envelope.ts"
import {
  decodeLogsBody,
  encodeLogsBody,
  type LogPart,
  MAX_LOGS_PARTS,
} from "../../shared/protocol/logs-body.ts"
import { benchDir, fmtInt, Options, printBlock, type Row, runBench } from "./lib.ts"

const opts = new Options(`bench:hostile — staging and write time of envelopes full of one-byte parts

  --sizes LIST   comma-separated part counts (default 10000,100000,200000)
  --keep         keep the temp dir (DuckDB files)`)

const SIZES = opts
  .str("sizes", "10000,100000,200000")
  .split(",")
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isSafeInteger(n) && n > 0)
const KEEP = opts.flag("keep")

let seq = 1

/** `total` one-byte line parts at offsets 0, 2, 4, ... in a shuffled order, in envelopes of MAX_LOGS_PARTS. */
function hostileEnvelopes(total: number): { accepted: AcceptedEnvelope[]; decodeMs: number } {
  const offsets = Array.from({ length: total }, (_, i) => 2 * i)
  for (let i = total - 1; i > 0; i--) {
    const j = (i * 7919 + 13) % (i + 1)
    ;[offsets[i], offsets[j]] = [offsets[j] as number, offsets[i] as number]
  }
  const accepted: AcceptedEnvelope[] = []
  let decodeMs = 0
  for (let from = 0; from < total; from += MAX_LOGS_PARTS) {
    const slice = offsets.slice(from, from + MAX_LOGS_PARTS)
    const parts: LogPart[] = slice.map((o) => ({ f: 0, o, n: 1, at: 1 }))
    const body = encodeLogsBody([{ path: "/var/log/app.log", gen: "g" }], [], parts, [
      new Uint8Array(slice.length).fill(0x78),
    ])
    const started = performance.now()
    const logs = decodeLogsBody(body)
    decodeMs += performance.now() - started
    const meta = { agent: "edge-a", host: "h", kind: "logs", seq: seq++, count: slice.length, sentAt: 1 }
    accepted.push({ meta: meta as unknown as ReceivedEnvelope, streamSeq: seq, bytes: body.length, logs })
  }
  return { accepted, decodeMs }
}

/** Runs `work` while a 5 ms timer measures the longest gap between its ticks. */
async function withStallMeter<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; stallMs: number }> {
  let last = performance.now()
  let stallMs = 0
  const timer = setInterval(() => {
    const now = performance.now()
    stallMs = Math.max(stallMs, now - last)
    last = now
  }, 5)
  const started = performance.now()
  try {
    const value = await work()
    return { value, ms: performance.now() - started, stallMs }
  } finally {
    clearInterval(timer)
  }
}

const ms = (n: number) => `${fmtInt(n)} ms`

await runBench("bench:hostile", 600, async () => {
  const dir = benchDir("outpost-bench-hostile-", KEEP)
  for (const size of SIZES) {
    const { accepted, decodeMs } = hostileEnvelopes(size)
    const out = { parts: [] as StagedPart[], files: [] as StagedFile[] }
    let steps = rangeSteps.count
    const stage = await withStallMeter(async () => {
      const coverage = new Map()
      for (const env of accepted) await stageLogsBody("edge-a", "h", env.logs as never, coverage, out)
    })
    steps = rangeSteps.count - steps
    const writer = await DuckDbWriter.open(join(dir, `hostile-${size}.duckdb`))
    const first = await withStallMeter(() => writer.write({ accepted, rejected: [], receivedAt: Date.now() }))
    const again = hostileEnvelopes(size).accepted
    const second = await withStallMeter(() =>
      writer.write({ accepted: again, rejected: [], receivedAt: Date.now() }),
    )
    await writer.close()
    const rows: Row[] = [
      ["envelopes", fmtInt(accepted.length)],
      ["decode (all envelopes)", ms(decodeMs)],
      ["staging alone", `${ms(stage.ms)}, longest stall ${ms(stage.stallMs)}`],
      ["range-list steps in staging", `${fmtInt(steps)} (${(steps / size).toFixed(1)} per part)`],
      [
        "write, fresh file",
        `${ms(first.ms)}, ${fmtInt(first.value.linesWritten)} lines, longest stall ${ms(first.stallMs)}`,
      ],
      [
        "write, same parts again",
        `${ms(second.ms)}, ${fmtInt(second.value.linesWritten)} lines, longest stall ${ms(second.stallMs)}`,
      ],
    ]
    printBlock(`${fmtInt(size)} one-byte parts at gapped offsets`, rows)
  }
  return 0
})
