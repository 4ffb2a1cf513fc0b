import { afterAll, describe, expect, test } from "bun:test"
import { closeSync, openSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { tempDir } from "../../test/harness/index.ts"
import { type PreviewWindow, readWindow } from "./window.ts"

const dir = tempDir()
afterAll(() => dir[Symbol.asyncDispose]())
let n = 0

/** Writes `content` to a fresh file and reads the window at `offset` from it. */
function windowOf(content: string | Buffer, offset: number, lineEnd?: number): PreviewWindow {
  const path = join(dir.path, `f${n++}.log`)
  writeFileSync(path, content)
  const fd = openSync(path, "r")
  try {
    return readWindow(fd, offset, { lineEnd })
  } finally {
    closeSync(fd)
  }
}

function found(w: PreviewWindow) {
  if (!w.found) throw new Error(`window not found (size ${w.size})`)
  return w
}

/** `count` lines of exactly `width` bytes each, newline included: "00042 xxxx…\n". */
const fixed = (count: number, width: number) =>
  Array.from(
    { length: count },
    (_, i) => `${`${String(i).padStart(5, "0")} `.padEnd(width - 1, "x")}\n`,
  ).join("")

/** The window's lines put back together: must be the file's bytes [start, end) exactly. */
const rejoin = (w: ReturnType<typeof found>, content: string) => {
  const text = w.lines.map((l) => l.text).join("\n")
  return content.slice(w.end - 1, w.end) === "\n" ? `${text}\n` : text
}

describe("preview window", () => {
  test("a short file: everything, the matched line flagged, offsets kept", () => {
    const w = found(windowOf("alpha\nbeta\ngamma\n", 6))
    expect(w.lines).toEqual([
      { offset: 0, text: "alpha", matched: false, cut: false },
      { offset: 6, text: "beta", matched: true, cut: false },
      { offset: 11, text: "gamma", matched: false, cut: false },
    ])
    expect([w.start, w.end, w.size, w.matchedTruncated]).toEqual([0, 17, 17, false])
  })

  test("offset 0: nothing before", () => {
    const w = found(windowOf("first\nsecond\n", 0))
    expect(w.lines.map((l) => [l.offset, l.text, l.matched])).toEqual([
      [0, "first", true],
      [6, "second", false],
    ])
  })

  test("4 KiB each side, trimmed to whole lines: the exact bytes", () => {
    const content = fixed(1000, 100) // line i starts at i * 100
    const w = found(windowOf(content, 50_000))
    // before: [45904, 50000) starts inside line 459, so line 460 (46000) is the first shown
    // after: [50100, 54196) ends inside line 541, so line 540 (ends at 54100) is the last
    expect([w.start, w.end]).toEqual([46_000, 54_100])
    expect(rejoin(w, content)).toBe(content.slice(46_000, 54_100))
    expect(w.lines.map((l) => l.offset)).toEqual(Array.from({ length: 81 }, (_, i) => 46_000 + i * 100))
    expect(w.lines.filter((l) => l.matched).map((l) => l.offset)).toEqual([50_000])
    expect(w.lines.some((l) => l.cut)).toBe(false)
  })

  test("a window edge on a line boundary keeps that line", () => {
    const content = fixed(200, 64) // 4096 = 64 lines of 64 bytes
    const w = found(windowOf(content, 6400))
    expect([w.start, w.end]).toEqual([6400 - 4096, 6464 + 4096])
    expect(rejoin(w, content)).toBe(content.slice(2304, 10_560))
  })

  test("a file shorter than the window, ending without a newline: the last line whole", () => {
    const content = "one\ntwo\nthree"
    const w = found(windowOf(content, 4))
    expect(w.lines.map((l) => [l.text, l.cut])).toEqual([
      ["one", false],
      ["two", false],
      ["three", false],
    ])
    expect([w.start, w.end]).toEqual([0, 13])
    const last = found(windowOf(content, 8))
    expect(last.lines.at(-1)).toEqual({ offset: 8, text: "three", matched: true, cut: false })
  })

  test("a matched line over 4 KiB is cut at 4 KiB and said to be; nothing after it", () => {
    const content = `before\n${"L".repeat(10_000)}\nafter\n`
    const w = found(windowOf(content, 7))
    expect(w.matchedTruncated).toBe(true)
    expect(w.lines.map((l) => [l.offset, l.text.length, l.matched, l.cut])).toEqual([
      [0, 6, false, false],
      [7, 4096, true, true],
    ])
    expect(w.end).toBe(7 + 4096)
  })

  test("a matched line of exactly 4 KiB is whole", () => {
    const content = `${"L".repeat(4096)}\nnext\n`
    const w = found(windowOf(content, 0))
    expect(w.matchedTruncated).toBe(false)
    expect(w.lines.map((l) => [l.text.length, l.cut])).toEqual([
      [4096, false],
      [4, false],
    ])
  })

  test("over-long neighbours: shown cut at the window edge rather than dropped", () => {
    const content = `${"B".repeat(9000)}\nmatch\n${"A".repeat(9000)}\n`
    const w = found(windowOf(content, 9001))
    expect(w.lines.map((l) => [l.offset, l.text.length, l.matched, l.cut])).toEqual([
      [9001 - 4096, 4095, false, true],
      [9001, 5, true, false],
      [9007, 4096, false, true],
    ])
    expect([w.start, w.end]).toEqual([9001 - 4096, 9007 + 4096])
  })

  test("offset beyond the end (the file was truncated), and exactly at the end", () => {
    expect(windowOf("short\n", 100)).toEqual({ found: false, size: 6 })
    expect(windowOf("short\n", 6)).toEqual({ found: false, size: 6 })
    expect(windowOf("", 0)).toEqual({ found: false, size: 0 })
  })

  test("invalid UTF-8 becomes U+FFFD; a cut never splits a character", () => {
    const bad = Buffer.concat([
      Buffer.from("ok\n"),
      Buffer.of(0xff, 0xfe, 0x41, 0xc3),
      Buffer.from("\nend\n"),
    ])
    expect(found(windowOf(bad, 3)).lines.map((l) => l.text)).toEqual(["ok", "\uFFFD\uFFFDA\uFFFD", "end"])
    // 4095 ASCII bytes then "é" (2 bytes): the 4 KiB cap falls inside it
    const w = found(windowOf(`${"a".repeat(4095)}é${"b".repeat(5000)}\n`, 0))
    expect(w.lines[0]?.text).toBe("a".repeat(4095))
    expect(w.end).toBe(4095)
  })

  test("CRLF lines lose the CR; an offset inside a line shows that line's start cut", () => {
    expect(found(windowOf("a\r\nb\r\n", 3)).lines.map((l) => l.text)).toEqual(["a", "b"])
    const mid = found(windowOf("hello world\n", 6))
    expect(mid.lines.map((l) => [l.offset, l.text, l.matched, l.cut])).toEqual([
      [0, "hello ", false, true],
      [6, "world", true, false],
    ])
  })

  test("line_end: a line at the offset shorter than the collector's says the file changed", () => {
    const content = "x\nERROR disk full\ny\n"
    expect(found(windowOf(content, 2, 17)).lineEndMismatch).toBe(false)
    expect(found(windowOf(content, 2, 10)).lineEndMismatch).toBe(false) // the collector saw a capped line
    expect(found(windowOf(content, 2, 30)).lineEndMismatch).toBe(true)
  })
})
