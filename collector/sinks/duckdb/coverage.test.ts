import { describe, expect, test } from "bun:test"
import { addRange, type Range, uncovered } from "./coverage.ts"

describe("coverage ranges", () => {
  test("uncovered parts of a range", () => {
    const covered: Range[] = [
      { start: 10, end: 20 },
      { start: 30, end: 40 },
    ]
    expect(uncovered(covered, 0, 50)).toEqual([
      { start: 0, end: 10 },
      { start: 20, end: 30 },
      { start: 40, end: 50 },
    ])
    expect(uncovered(covered, 12, 18)).toEqual([])
    expect(uncovered(covered, 15, 35)).toEqual([{ start: 20, end: 30 }])
    expect(uncovered([], 5, 6)).toEqual([{ start: 5, end: 6 }])
  })

  test("adding merges touching and overlapping ranges", () => {
    let c: Range[] = []
    c = addRange(c, 20, 30)
    c = addRange(c, 0, 10)
    expect(c).toEqual([
      { start: 0, end: 10 },
      { start: 20, end: 30 },
    ])
    c = addRange(c, 10, 20)
    expect(c).toEqual([{ start: 0, end: 30 }])
    c = addRange(c, 40, 50)
    c = addRange(c, 25, 45)
    expect(c).toEqual([{ start: 0, end: 50 }])
  })

  test("random ranges agree with a bitmap model", () => {
    let seed = 7
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    for (let round = 0; round < 50; round++) {
      const bits = new Array<boolean>(200).fill(false)
      let c: Range[] = []
      for (let i = 0; i < 20; i++) {
        const a = rand(200)
        const b = a + rand(30)
        const missing = uncovered(c, a, Math.min(b, 200))
        const expected: number[] = []
        for (let x = a; x < Math.min(b, 200); x++) if (!bits[x]) expected.push(x)
        expect(
          missing.flatMap((r) => Array.from({ length: r.end - r.start }, (_, k) => r.start + k)),
        ).toEqual(expected)
        c = addRange(c, a, Math.min(b, 200))
        for (let x = a; x < Math.min(b, 200); x++) bits[x] = true
      }
    }
  })
})
