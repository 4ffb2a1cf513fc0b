// A token bucket per target, so that the collector stays inside the budget a chat service enforces. The bucket
// holds `capacity` tokens and gains `perMs` tokens a millisecond; a send takes one. Over any window of W ms it
// lets through at most capacity + perMs * W sends, so a budget of N per window is met by half as burst and half
// as refill (budgetBucket). The engine asks `low()` before it sends and folds what is due into one digest
// message when it is true: with fewer than 2 tokens left, the next message could be the last for a while.

/** The local view of a target's send budget. Times are ms since the epoch, passed in (a fake clock in tests). */
export type TokenBucket = {
  /** takes a token when one is there: true means "send now" */
  take(now: number): boolean
  /** whole tokens left */
  remaining(now: number): number
  /** when the next token is there (`now` when one is) */
  availableAt(now: number): number
  /** fewer than `lowTokens` (default 2) left, or throttled: time for a digest */
  low(now: number): boolean
  /** the server said "throttled until": no tokens before then, one at that moment */
  throttleUntil(untilMs: number): void
}

/** A bucket of `capacity` tokens refilled at `perMs` tokens a millisecond, full at `now`. */
export type TokenBucketOptions = { capacity: number; perMs: number; lowTokens?: number; now: number }

/** Creates a token bucket. */
export function createTokenBucket(options: TokenBucketOptions): TokenBucket {
  const { capacity, perMs } = options
  if (!(capacity >= 1) || !(perMs > 0))
    throw new RangeError("a token bucket needs capacity >= 1 and perMs > 0")
  const lowTokens = Math.min(options.lowTokens ?? 2, capacity)
  let tokens = capacity
  let at = options.now
  let blockedUntil = Number.NEGATIVE_INFINITY

  const refill = (now: number) => {
    if (now < blockedUntil) return false
    // a clock that steps back adds nothing and takes nothing
    if (now > at) {
      tokens = Math.min(capacity, tokens + (now - at) * perMs)
      at = now
    }
    return true
  }
  return {
    take(now) {
      if (!refill(now) || tokens < 1) return false
      tokens -= 1
      return true
    },
    remaining(now) {
      return refill(now) ? Math.floor(tokens) : 0
    },
    availableAt(now) {
      if (!refill(now)) return blockedUntil
      return tokens >= 1 ? now : now + Math.ceil((1 - tokens) / perMs)
    },
    low(now) {
      return !refill(now) || tokens < lowTokens
    },
    throttleUntil(untilMs) {
      if (untilMs <= blockedUntil) return
      blockedUntil = untilMs
      tokens = 1
      at = untilMs
    },
  }
}

/**
 * A bucket that lets through at most `budget` sends in any `windowMs` (budget >= 2): burst ceil(budget / 2),
 * refilled by floor(budget / 2) a window. A budget of 1 gives burst 1 and one a window (2 in the worst window).
 */
export function budgetBucket(budget: number, windowMs: number, now: number): TokenBucket {
  const capacity = Math.max(1, Math.ceil(budget / 2))
  const refilled = Math.max(1, budget - capacity)
  return createTokenBucket({ capacity, perMs: refilled / windowMs, now })
}

/** DingTalk: 20 a minute per robot, then a 10-minute throttle; 19 leaves one for clock skew: burst 10, +9/min. */
export function dingTalkBucket(now: number): TokenBucket {
  return budgetBucket(19, 60_000, now)
}

/** Slack: about one a second; a short burst of 3, then one a second. */
export function slackBucket(now: number): TokenBucket {
  return createTokenBucket({ capacity: 3, perMs: 1 / 1000, now })
}

/** A webhook: `perMinute` in any minute (config `per_minute`). */
export function webhookBucket(perMinute: number, now: number): TokenBucket {
  return budgetBucket(perMinute, 60_000, now)
}
