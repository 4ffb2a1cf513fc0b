import { QueryError } from "./query-pool-error.ts"

type Waiter = { admit(): void; refuse(error: unknown): void }

/**
 * Admission for /sql: at most `slots` queries at once; more wait in a queue of `maxQueued`, each at most
 * `timeoutMs`, and beyond that are refused as `busy`. A freed slot goes to the longest waiting query.
 */
export class QuerySlots {
  running = 0
  private readonly queue: Waiter[] = []

  constructor(
    private readonly slots: number,
    private readonly maxQueued: number,
    private readonly timeoutMs: number,
  ) {}

  get queued(): number {
    return this.queue.length
  }

  /** Takes a slot, waiting in the queue (at most `timeoutMs`) when all are busy. */
  admit(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    if (this.running < this.slots) {
      this.running++
      return Promise.resolve()
    }
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(
        new QueryError(
          "busy",
          `${this.running} queries are running and ${this.queue.length} waiting (sql.max_concurrent, sql.max_queued); try again later`,
        ),
      )
    }
    return new Promise<void>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer)
        signal.removeEventListener("abort", onAbort)
        const at = this.queue.indexOf(waiter)
        if (at >= 0) this.queue.splice(at, 1)
      }
      const waiter: Waiter = {
        admit: () => {
          leave()
          resolve()
        },
        refuse: (error) => {
          leave()
          reject(error)
        },
      }
      const onAbort = () => waiter.refuse(signal.reason)
      const timer = setTimeout(
        () =>
          waiter.refuse(
            new QueryError("busy", `no query slot became free within sql.timeout_ms (${this.timeoutMs} ms)`),
          ),
        this.timeoutMs,
      )
      signal.addEventListener("abort", onAbort, { once: true })
      this.queue.push(waiter)
    })
  }

  /** Hands the slot to the next waiting query, or frees it. */
  release(): void {
    const next = this.queue.shift()
    if (next) next.admit()
    else this.running--
  }

  /** Refuses every waiting query (at close). */
  refuseAll(error: unknown): void {
    for (const waiter of this.queue.splice(0)) waiter.refuse(error)
  }
}
