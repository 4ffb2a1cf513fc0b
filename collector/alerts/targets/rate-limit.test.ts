import { describe, expect, test } from "bun:test"
import {
  budgetBucket,
  createTokenBucket,
  dingTalkBucket,
  slackBucket,
  type TokenBucket,
} from "./rate-limit.ts"

const T0 = 1_700_000_000_000

/** Sends whenever the bucket allows, trying every `stepMs` for `forMs`; the times it sent. */
function greedy(bucket: TokenBucket, forMs: number, stepMs = 100): number[] {
  const sent: number[] = []
  for (let now = T0; now < T0 + forMs; now += stepMs) while (bucket.take(now)) sent.push(now)
  return sent
}

/** The most sends in any window of `windowMs` (inclusive at both ends). */
function busiestWindow(sent: number[], windowMs: number): number {
  let most = 0
  for (let i = 0, j = 0; i < sent.length; i++) {
    while ((sent[i] as number) - (sent[j] as number) > windowMs) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

describe("token bucket", () => {
  test("a full bucket lets its capacity through, then one per refill", () => {
    const b = createTokenBucket({ capacity: 3, perMs: 1 / 1000, now: T0 })
    expect([b.take(T0), b.take(T0), b.take(T0), b.take(T0)]).toEqual([true, true, true, false])
    expect(b.remaining(T0)).toBe(0)
    expect(b.availableAt(T0)).toBe(T0 + 1000)
    expect(b.take(T0 + 999)).toBe(false)
    expect(b.take(T0 + 1000)).toBe(true)
    expect(b.remaining(T0 + 60_000)).toBe(3)
  })

  test("low: fewer than 2 tokens left", () => {
    const b = createTokenBucket({ capacity: 4, perMs: 1 / 1000, now: T0 })
    b.take(T0)
    b.take(T0)
    expect(b.low(T0)).toBe(false)
    b.take(T0)
    expect(b.low(T0)).toBe(true)
    expect(b.low(T0 + 1000)).toBe(false)
  })

  test("throttleUntil: nothing before, one token at that moment, refill after", () => {
    const b = createTokenBucket({ capacity: 10, perMs: 1 / 1000, now: T0 })
    b.throttleUntil(T0 + 600_000)
    expect(b.take(T0 + 1)).toBe(false)
    expect(b.low(T0 + 599_999)).toBe(true)
    expect(b.remaining(T0 + 599_999)).toBe(0)
    expect(b.availableAt(T0)).toBe(T0 + 600_000)
    expect(b.take(T0 + 600_000)).toBe(true)
    expect(b.take(T0 + 600_000)).toBe(false)
    expect(b.take(T0 + 601_000)).toBe(true)
  })

  test("a clock that steps back neither adds nor breaks anything", () => {
    const b = createTokenBucket({ capacity: 1, perMs: 1 / 1000, now: T0 })
    expect(b.take(T0)).toBe(true)
    expect(b.take(T0 - 5_000)).toBe(false)
    expect(b.take(T0 + 1000)).toBe(true)
  })

  test("bad sizes are refused", () => {
    expect(() => createTokenBucket({ capacity: 0, perMs: 1, now: T0 })).toThrow(RangeError)
    expect(() => createTokenBucket({ capacity: 1, perMs: 0, now: T0 })).toThrow(RangeError)
  })
})

describe("budgets", () => {
  test("DingTalk: never more than 19 in any minute (the robot allows 20), and close to it", () => {
    const sent = greedy(dingTalkBucket(T0), 30 * 60_000)
    expect(busiestWindow(sent, 60_000)).toBe(19)
    expect(sent.slice(0, 10).every((t) => t === T0)).toBe(true)
    expect(sent.length).toBeGreaterThanOrEqual(10 + 9 * 29)
  })

  test.each([2, 3, 7, 20, 60, 61])("a budget of %i a minute holds in every minute", (budget) => {
    expect(
      busiestWindow(greedy(budgetBucket(budget, 60_000, T0), 20 * 60_000, 250), 60_000),
    ).toBeLessThanOrEqual(budget)
  })

  test("Slack: a burst of 3, then one a second", () => {
    const sent = greedy(slackBucket(T0), 10_000, 50)
    expect(sent.slice(0, 4)).toEqual([T0, T0, T0, T0 + 1000])
    expect(sent).toHaveLength(3 + 9)
  })
})
