import { describe, expect, test } from "bun:test"
import { appendFileSync, closeSync, openSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { tempDir } from "../../../test/harness/index.ts"
import { compileRules } from "./rules.ts"
import { MAX_MATCHES_PER_READ, readChunk, type TailOptions, type TailRead, type TailState } from "./tailer.ts"

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8")
const all: TailOptions = { chunkBytes: 4096, maxLineBytes: 64, rules: undefined }
/** [offset, raw, truncated, text] of each part */
const described = (r: TailRead | undefined) =>
  r?.parts.map((p) => [p.offset, p.raw, p.truncated ?? false, text(p.bytes)])

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

  describe("max_line_bytes (64 here) bounds a line's bytes, its newline not counted", () => {
    const at = "a".repeat(64)
    const over = "b".repeat(65)

    test("all mode: a line of exactly max_line_bytes is kept whole, one byte more is truncated", () => {
      withFile(`${at}\n${over}\nc\n`, (_path, _state, read) => {
        const r = read()
        expect(r).toMatchObject({ startOffset: 0, endOffset: 65 + 66 + 2, lines: 3 })
        expect(described(r)).toEqual([
          [0, true, false, `${at}\n`],
          [65, false, true, "b".repeat(64)],
          [131, true, false, "c\n"],
        ])
      })
    })

    test("match mode: a matching line of exactly max_line_bytes is kept whole, one byte more is truncated", () => {
      const rules = compileRules("t", [{ name: "any", regex: "^[ab]" }])
      withFile(
        `${at}\n${over}\n`,
        (_path, _state, read) => {
          const r = read()
          expect(r).toMatchObject({ startOffset: 0, endOffset: 65 + 66, lines: 2 })
          expect(described(r)).toEqual([
            [0, false, false, at],
            [65, false, true, "b".repeat(64)],
          ])
        },
        { ...all, rules },
      )
    })

    test("a last line without newline of exactly max_line_bytes waits for its newline; one byte more is cut at once", () => {
      withFile(at, (path, state, read) => {
        expect(read()).toBeUndefined()
        appendFileSync(path, "\n")
        expect(described(read())).toEqual([[0, true, false, `${at}\n`]])
        expect(state.position).toBe(65)
      })
      withFile(over, (path, state, read) => {
        const r = read()
        expect(r).toMatchObject({ startOffset: 0, endOffset: 65, lines: 1 })
        expect(described(r)).toEqual([[0, false, true, "b".repeat(64)]])
        // the rest of the line, when it comes, is skipped: the next line is read whole
        appendFileSync(path, "tail\nnext\n")
        const next = read()
        expect(next).toMatchObject({ startOffset: 65, endOffset: 75, lines: 1 })
        expect(described(next)).toEqual([[70, true, false, "next\n"]])
        expect(state.skipping).toBe(false)
      })
    })

    test("final: a last line of exactly max_line_bytes is whole, one byte more is truncated", () => {
      withFile(`x\n${at}`, (_path, _state, read) => {
        expect(described(read(true))).toEqual([
          [0, true, false, "x\n"],
          [2, false, false, at],
        ])
      })
      withFile(`x\n${over}`, (_path, state, read) => {
        const r = read(true)
        expect(r).toMatchObject({ startOffset: 0, endOffset: 67, lines: 2 })
        expect(described(r)).toEqual([
          [0, true, false, "x\n"],
          [2, false, true, "b".repeat(64)],
        ])
        expect(state.skipping).toBe(false) // nothing more will come: nothing to skip
      })
    })
  })

  test("final applies only to a read that reaches the end of the file, not to a line cut by the chunk size", () => {
    const options = { ...all, chunkBytes: 8 }
    withFile(
      "aaaa\nbbbb\ncc",
      (_path, state, read) => {
        // the first 8 bytes end inside "bbbb": that is no last line, even though the generation has ended
        const first = read(true)
        expect(first).toMatchObject({ startOffset: 0, endOffset: 5, lines: 1 })
        expect(described(first)).toEqual([[0, true, false, "aaaa\n"]])
        // this read reaches the end: "cc" is the file's last line
        const last = read(true)
        expect(last).toMatchObject({ startOffset: 5, endOffset: 12, lines: 2 })
        expect(described(last)).toEqual([
          [5, true, false, "bbbb\n"],
          [10, false, false, "cc"],
        ])
        expect(state.position).toBe(12)
        expect(read(true)).toBeUndefined()
      },
      options,
    )
  })
})
