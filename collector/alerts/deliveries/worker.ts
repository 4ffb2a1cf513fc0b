import type { ChatTarget, SendOutcome, TokenBucket } from "../targets/index.ts"
import type { DeliveryStore, DueDelivery } from "./store.ts"

/** A target as the worker drives it: the client, its budget, and whether it was stopped for good. */
export type DeliveryTarget = { target: ChatTarget; budget: TokenBucket }

/** Retry delay after `attempts` failed sends: 5 s, 10 s, 20 s ... up to 15 minutes. */
export function retryDelayMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 15 * 60_000)
}

export type TargetState = { stopped: string | null; throttledUntil: number | null; lastError: string | null }

/**
 * Sends what the store holds as due, oldest first, each target within its budget: a target whose budget is spent
 * waits (its messages stay pending, nothing is dropped), one the server throttled waits until it said, one that
 * answered for good (a bad token, a deleted channel) is stopped and its deliveries marked permanent, shown in
 * /status instead of being retried forever. A failed send is retried with backoff, with the same message key.
 */
export class DeliveryWorker {
  private readonly state = new Map<string, TargetState>()
  /** nothing is due before this, as of the store's `enqueued` count then: the table is not read every tick */
  private idle: { until: number; enqueued: number } | undefined

  constructor(
    private readonly store: DeliveryStore,
    private readonly targets: ReadonlyMap<string, DeliveryTarget>,
    /** each send's outcome, for metrics */
    private readonly onSend?: (target: string, outcome: SendOutcome["type"]) => void,
  ) {
    for (const name of targets.keys())
      this.state.set(name, { stopped: null, throttledUntil: null, lastError: null })
  }

  /** One pass over the due deliveries; returns how many were sent. */
  async runOnce(now: number, signal?: AbortSignal): Promise<number> {
    if (this.idle && this.idle.enqueued === this.store.enqueued && now < this.idle.until) return 0
    const enqueued = this.store.enqueued
    let sent = 0
    for (const d of await this.store.due(now)) {
      if (signal?.aborted) break
      const t = this.targets.get(d.target)
      const s = this.state.get(d.target)
      if (!t || !s) {
        await this.store.permanent(d.key, d.target, `no target '${d.target}' in the config`, now)
        continue
      }
      if (s.stopped) {
        await this.store.permanent(d.key, d.target, `target stopped: ${s.stopped}`, now)
        continue
      }
      if ((s.throttledUntil !== null && now < s.throttledUntil) || !t.budget.take(now)) continue
      const outcome = await t.target.send(d.message, signal)
      this.onSend?.(d.target, outcome.type)
      if (await this.settle(d, outcome, s, t, now)) sent++
    }
    this.idle = { until: (await this.store.nextDueAt()) ?? Number.POSITIVE_INFINITY, enqueued }
    return sent
  }

  targetStates(): ReadonlyMap<string, TargetState> {
    return this.state
  }

  private async settle(
    d: DueDelivery,
    outcome: SendOutcome,
    s: TargetState,
    t: DeliveryTarget,
    now: number,
  ): Promise<boolean> {
    switch (outcome.type) {
      case "sent":
        s.lastError = null
        await this.store.sent(d.key, d.target, now)
        return true
      case "retry":
        s.lastError = outcome.error
        await this.store.retry(
          d.key,
          d.target,
          outcome.error,
          now + (outcome.afterMs ?? retryDelayMs(d.attempts + 1)),
        )
        return false
      case "throttled":
        s.lastError = outcome.error
        s.throttledUntil = outcome.untilMs
        t.budget.throttleUntil(outcome.untilMs)
        await this.store.retry(d.key, d.target, outcome.error, outcome.untilMs)
        return false
      case "permanent":
        s.lastError = outcome.error
        s.stopped = outcome.error
        await this.store.permanent(d.key, d.target, outcome.error, now)
        return false
    }
  }
}
