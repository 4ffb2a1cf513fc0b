import { describe, expect, test } from "bun:test"
import { addRange, firstEndingAfter, mergeRanges, type Range, rangeSteps, uncovered } from "./coverage.ts"

/** `n` one-byte ranges with one-byte gaps: the worst shape for a range list. */
const gapped = (n: number): Range[] => Array.from({ length: n }, (_, i) => ({ start: 2 * i, end: 2 * i + 1 }))

function stepsOf(run: () => void): number {
  const before = rangeSteps.count
  run()
  return rangeSteps.count - before
}

/** Deterministic pseudo-random integers below `n`. */
function random(seed: number) {
  return (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed % n
  }
}

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
    expect(uncovered(covered, 40, 45)).toEqual([{ start: 40, end: 45 }])
    expect(uncovered(covered, 20, 20)).toEqual([])
    expect(uncovered([], 5, 6)).toEqual([{ start: 5, end: 6 }])
  })

  test.each([
    ["before all", 0, 0],
    ["inside the first", 10, 0],
    ["at the end of the first (half-open)", 20, 1],
    ["in a gap", 25, 1],
    ["inside the last", 39, 1],
    ["after all", 40, 2],
  ])("firstEndingAfter: %s", (_name, at, index) => {
    const covered: Range[] = [
      { start: 10, end: 20 },
      { start: 30, end: 40 },
    ]
    expect(firstEndingAfter(covered, at)).toBe(index)
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
    expect(addRange(c, 7, 7)).toEqual(c)
  })

  test("mergeRanges takes unsorted, overlapping additions and leaves its inputs alone", () => {
    const covered: Range[] = [{ start: 10, end: 20 }]
    const adds: Range[] = [
      { start: 40, end: 45 },
      { start: 0, end: 3 },
      { start: 2, end: 5 },
      { start: 44, end: 50 },
      { start: 20, end: 21 },
      { start: 8, end: 8 },
    ]
    const before = JSON.stringify([covered, adds])
    expect(mergeRanges(covered, adds)).toEqual([
      { start: 0, end: 5 },
      { start: 10, end: 21 },
      { start: 40, end: 50 },
    ])
    expect(JSON.stringify([covered, adds])).toBe(before)
  })

  test("random ranges agree with a bitmap model, one at a time and in batches", () => {
    const rand = random(7)
    for (let round = 0; round < 50; round++) {
      const bits = new Array<boolean>(200).fill(false)
      let c: Range[] = []
      for (let i = 0; i < 20; i++) {
        const a = rand(200)
        const b = Math.min(a + rand(30), 200)
        const missing = uncovered(c, a, b)
        const expected: number[] = []
        for (let x = a; x < b; x++) if (!bits[x]) expected.push(x)
        expect(
          missing.flatMap((r) => Array.from({ length: r.end - r.start }, (_, k) => r.start + k)),
        ).toEqual(expected)
        // Every other step adds a batch of ranges at once, as staging does per envelope.
        const adds: Range[] = [{ start: a, end: b }]
        if (i % 2 === 1) for (let k = 0; k < 5; k++) adds.push({ start: rand(200), end: rand(200) })
        c = mergeRanges(c, adds)
        for (const r of adds) for (let x = r.start; x < r.end; x++) bits[x] = true
        const model: Range[] = []
        for (let x = 0; x < 200; x++) {
          if (!bits[x]) continue
          const last = model[model.length - 1]
          if (last && last.end === x) last.end = x + 1
          else model.push({ start: x, end: x + 1 })
        }
        expect(c).toEqual(model)
      }
    }
  })

  test("a lookup in a long list takes about log2(n) steps, not n", () => {
    const covered = gapped(200_000)
    // 18 steps of binary search (2^18 > 200,000) plus the one or two ranges inside [start, end).
    expect(stepsOf(() => uncovered(covered, 399_990, 399_994))).toBeLessThanOrEqual(18 + 3)
    expect(stepsOf(() => uncovered(covered, 1, 2))).toBeLessThanOrEqual(18 + 1)
  })

  test("merging 200,000 gapped ranges into a list of 200,000 is one pass plus one sort", () => {
    const covered = gapped(200_000)
    const adds = gapped(200_000).map((r) => ({ start: r.start + 400_001, end: r.end + 400_001 }))
    adds.reverse()
    let merged: Range[] = []
    const steps = stepsOf(() => {
      merged = mergeRanges(covered, adds)
    })
    expect(merged.length).toBe(400_000)
    // One step per addition (sort) and one per element of the merged walk; quadratic would be 4e10.
    expect(steps).toBe(200_000 + 400_000)
  })
})
