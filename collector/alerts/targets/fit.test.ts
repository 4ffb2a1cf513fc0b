import { describe, expect, test } from "bun:test"
import { cutUtf8, fitItems, utf8Bytes } from "./fit.ts"
import { moreLinesText } from "./format.ts"

/** Text that survives a UTF-8 round trip unchanged has no half character in it. */
const wholeUtf8 = (text: string) => Buffer.from(text, "utf8").toString("utf8") === text

describe("cutUtf8", () => {
  test.each([
    ["ascii that fits", "hello", 5, "hello"],
    ["ascii cut", "hello world", 8, "hello…"],
    ["CJK cut between characters", "告警告警告警", 10, "告警…"],
    ["emoji never halved", "ab😀😀", 8, "ab…"],
    ["accents", "éééé", 7, "éé…"],
    ["no room beyond the ellipsis", "😀😀", 3, "…"],
    ["less room than the ellipsis", "😀😀", 2, ""],
  ])("%s", (_, text, max, expected) => {
    const out = cutUtf8(text, max)
    expect(out).toBe(expected)
    expect(utf8Bytes(out)).toBeLessThanOrEqual(max)
  })

  test("random mixed text: always within the limit, whole characters, a prefix of the input", () => {
    const alphabet = ["a", "é", "告", "😀", " ", "\u0301", "ß"]
    let seed = 7
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (let i = 0; i < 500; i++) {
      const text = Array.from(
        { length: Math.floor(random() * 40) },
        () => alphabet[Math.floor(random() * 7)],
      ).join("")
      const max = Math.floor(random() * 60)
      const out = cutUtf8(text, max)
      expect(utf8Bytes(out)).toBeLessThanOrEqual(max)
      expect(wholeUtf8(out)).toBe(true)
      expect(text.startsWith(out.endsWith("…") && out !== text ? out.slice(0, -1) : out)).toBe(true)
    }
  })
})

describe("fitItems", () => {
  const lines = Array.from({ length: 20 }, (_, i) => `> 第${i}行 数据库连接超时 😀 timeout`)
  const options = { head: "#### 告警", tail: "[link](http://x)", separator: "\n\n", more: moreLinesText }

  test("everything when it fits", () => {
    const out = fitItems({ ...options, items: lines.slice(0, 2), total: 2, maxBytes: 4000 })
    expect(out).toBe(`#### 告警\n\n${lines[0]}\n\n${lines[1]}\n\n[link](http://x)`)
  })

  test("names the lines it stands for but does not hold", () => {
    const out = fitItems({ ...options, items: lines.slice(0, 2), total: 30, maxBytes: 4000 })
    expect(out).toContain("… and 28 more lines\n\n[link](http://x)")
  })

  test("multi-byte lines cut to the limit: whole lines, the count of the rest, head and tail kept", () => {
    for (const maxBytes of [120, 200, 333, 500, 1000]) {
      const out = fitItems({ ...options, items: lines, total: 25, maxBytes })
      expect(utf8Bytes(out)).toBeLessThanOrEqual(maxBytes)
      expect(wholeUtf8(out)).toBe(true)
      const shown = lines.filter((l) => out.includes(l)).length
      expect(out).toContain(moreLinesText(25 - shown))
      expect(out.startsWith("#### 告警")).toBe(true)
      expect(out.endsWith("[link](http://x)")).toBe(true)
    }
  })

  test("a head too long for the limit is cut, never the limit exceeded", () => {
    const out = fitItems({ ...options, head: "告".repeat(500), items: lines, total: 20, maxBytes: 300 })
    expect(utf8Bytes(out)).toBeLessThanOrEqual(300)
    expect(out).toContain("… and 20 more lines")
  })
})
