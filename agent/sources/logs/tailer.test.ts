import { describe, expect, test } from "bun:test"
import { appendFileSync, closeSync, openSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { tempDir } from "../../../test/harness/index.ts"
import { compileRules } from "./rules.ts"
import { MAX_MATCHES_PER_READ, readChunk, type TailOptions, type TailRead, type TailState } from "./tailer.ts"

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8")
const all: TailOptions = { chunkBytes: 4096, maxLineBytes: 64, rules: undefined }

/** Opens `content` as a file and reads it to the end, chunk after chunk. */
function withFile(
  content: string,
  fn: (path: string, state: TailState, read: (final?: boolean) => TailRead | undefined) => void,
  options = all,
) {
  const dir = tempDir()
  const path = join(dir.path, "a.log")
  writeFileSync(path, content)
  const state: TailState = { fd: openSync(path, "r"), position: 0, skipping: false }
  try {
    fn(path, state, (final = false) => readChunk(state, statSync(path).size, final, options))
  } finally {
    closeSync(state.fd)
    void dir[Symbol.asyncDispose]()
  }
}

describe("readChunk", () => {
  test("emits whole lines as one raw block and keeps a partial last line for later", () => {
    withFile("one\ntwo\nthr", (path, state, read) => {
      const r = read()
      expect(r).toMatchObject({ startOffset: 0, endOffset: 8, lines: 2 })
      expect(r?.parts).toHaveLength(1)
      expect(r?.parts[0]).toMatchObject({ offset: 0, raw: true })
      expect(text(r?.parts[0]?.bytes ?? new Uint8Array())).toBe("one\ntwo\n")
      expect(read()).toBeUndefined()
      appendFileSync(path, "ee\n")
      const next = read()
      expect(next).toMatchObject({ startOffset: 8, endOffset: 14, lines: 1 })
      expect(text(next?.parts[0]?.bytes ?? new Uint8Array())).toBe("three\n")
      expect(state.position).toBe(14)
    })
  })

  test("a final read emits a trailing line without newline as a non-raw part", () => {
    withFile("a\nlast", (_path, _state, read) => {
      expect(read()?.endOffset).toBe(2)
      const r = read(true)
      expect(r).toMatchObject({ startOffset: 2, endOffset: 6, lines: 1 })
      expect(r?.parts[0]).toMatchObject({ offset: 2, raw: false })
      expect(text(r?.parts[0]?.bytes ?? new Uint8Array())).toBe("last")
    })
  })

  test("caps a long line, marks it truncated and skips the rest of it", () => {
    const long = "x".repeat(100)
    withFile(`a\n${long}\nb\n`, (_path, _state, read) => {
      const r = read()
      expect(r).toMatchObject({ endOffset: 2 + 101 + 2, lines: 3 })
      expect(r?.parts.map((p) => [p.offset, p.raw, p.truncated ?? false, text(p.bytes)])).toEqual([
        [0, true, false, "a\n"],
        [2, false, true, "x".repeat(64)],
        [103, true, false, "b\n"],
      ])
    })
  })

  test("a line longer than a chunk is truncated once and skipped over several chunks", () => {
    const options = { ...all, chunkBytes: 4096, maxLineBytes: 100 }
    const long = "y".repeat(10_000)
    withFile(
      `${long}\nafter\n`,
      (_path, state, read) => {
        const reads: TailRead[] = []
        for (let r = read(); r; r = read()) reads.push(r)
        const parts = reads.flatMap((r) => r.parts)
        expect(parts.map((p) => [p.offset, p.truncated ?? false, text(p.bytes)])).toEqual([
          [0, true, "y".repeat(100)],
          [10_001, false, "after\n"],
        ])
        expect(reads.reduce((n, r) => n + r.lines, 0)).toBe(2)
        expect(state.position).toBe(10_007)
      },
      options,
    )
  })

  test("a line longer than a chunk but under the cap is read whole", () => {
    const options = { ...all, chunkBytes: 4096, maxLineBytes: 16_384 }
    const long = "z".repeat(6000)
    withFile(
      `${long}\nnext\n`,
      (_path, _state, read) => {
        const r = read()
        expect(r?.lines).toBe(2)
        expect(r?.parts.map((p) => [p.raw, text(p.bytes)])).toEqual([[true, `${long}\nnext\n`]])
      },
      options,
    )
  })

  test("match mode: a chunk of tiny matching lines is read in pieces of at most MAX_MATCHES_PER_READ parts, none lost", () => {
    // 3-byte lines: a 64 KiB chunk would hold 21,845 parts, a manifest bigger than the chunk itself.
    const count = MAX_MATCHES_PER_READ * 2 + 100
    const content = "E1\n".repeat(count)
    const rules = compileRules("t", [{ name: "e", keywords: ["E"] }])
    withFile(
      content,
      (_path, _state, read) => {
        const reads: TailRead[] = []
        for (let r = read(); r; r = read()) reads.push(r)
        expect(reads.map((r) => r.parts.length)).toEqual([MAX_MATCHES_PER_READ, MAX_MATCHES_PER_READ, 100])
        expect(reads.map((r) => r.lines)).toEqual([MAX_MATCHES_PER_READ, MAX_MATCHES_PER_READ, 100])
        // contiguous spans, every line start exactly once
        expect(reads[1]?.startOffset).toBe(reads[0]?.endOffset)
        expect(reads.at(-1)?.endOffset).toBe(content.length)
        const offsets = reads.flatMap((r) => r.parts.map((p) => p.offset))
        expect(new Set(offsets).size).toBe(count)
      },
      { chunkBytes: 64 * 1024, maxLineBytes: 64, rules },
    )
  })

  test("all mode: a chunk of many over-long lines is read in pieces of at most MAX_MATCHES_PER_READ parts", () => {
    const count = MAX_MATCHES_PER_READ + 10
    const content = `${"x".repeat(80)}\n`.repeat(count)
    withFile(
      content,
      (_path, _state, read) => {
        const reads: TailRead[] = []
        for (let r = read(); r; r = read()) reads.push(r)
        expect(reads.map((r) => r.parts.length)).toEqual([MAX_MATCHES_PER_READ, 10])
        expect(reads.every((r) => r.parts.every((p) => p.truncated && p.bytes.length === 64))).toBe(true)
        expect(reads[1]?.startOffset).toBe(reads[0]?.endOffset)
        expect(reads.at(-1)?.endOffset).toBe(content.length)
        expect(reads.reduce((n, r) => n + r.lines, 0)).toBe(count)
      },
      { chunkBytes: 1024 * 1024, maxLineBytes: 64, rules: undefined },
    )
  })

  test("match mode keeps matching lines only, each with its rule, and advances over the rest", () => {
    const rules = compileRules("t", [
      { name: "err", keywords: ["ERROR", "FATAL"] },
      { name: "slow", regex: "took \\d{4,} ms$" },
      { name: "café", regex: "^café .*ü" },
    ])
    const content =
      "ok\nan ERROR here\ncall took 12345 ms\ncall took 12 ms\ncafé crème ü\nFATAL and took 9999 ms\n"
    withFile(
      content,
      (_path, _state, read) => {
        const r = read()
        expect(r?.endOffset).toBe(Buffer.byteLength(content))
        expect(r?.parts.map((p) => [p.rule, p.raw, text(p.bytes)])).toEqual([
          ["err", false, "an ERROR here"],
          ["slow", false, "call took 12345 ms"],
          ["café", false, "café crème ü"],
          ["err", false, "FATAL and took 9999 ms"],
        ])
        expect(r?.lines).toBe(4)
        expect(Buffer.byteLength("ok\nan ERROR here\n")).toBe(r?.parts[1]?.offset ?? 0)
      },
      { ...all, rules },
    )
  })

  test("match mode: a chunk without matches has no parts but moves the position", () => {
    const rules = compileRules("t", [{ name: "err", keywords: ["ERROR"] }])
    withFile(
      "a\nb\n",
      (_path, state, read) => {
        expect(read()).toMatchObject({ startOffset: 0, endOffset: 4, lines: 0, parts: [] })
        expect(state.position).toBe(4)
      },
      { ...all, rules },
    )
  })
})
