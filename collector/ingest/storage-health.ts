import { abortableSleep } from "../../shared/abortable-sleep.ts"
import { safeText } from "../../shared/log-text.ts"
import type { Logger } from "../../shared/logger.ts"

/**
 * Errors that say the database cannot write at all (not that one message is bad). Out of memory counts: it
 * passes (e.g. a heavy /sql query ends), and quarantining a good message for it would be wrong.
 */
const STORAGE_ERROR =
  /no space left|disk full|read-only file system|input\/output error|i\/o error|could not write|could not read|could not open|could not fsync|database has been invalidated|quota exceeded|out of memory/i

/** True when a DuckDB error is about the file system or the database file, not about the data. */
export function isStorageError(error: unknown): boolean {
  return STORAGE_ERROR.test((error as Error)?.message ?? String(error))
}

const FIRST_BACKOFF_MS = 500
const MAX_BACKOFF_MS = 30_000

/**
 * Whether DuckDB can write. While it cannot, ingest holds what it has (nothing is acked or terminated, so
 * everything stays in JetStream), retries with backoff and reports the reason through /health and /metrics.
 */
export class StorageHealth {
  private reason: string | undefined
  private downSince = 0
  private attempts = 0

  constructor(
    private readonly log: Logger,
    private readonly onChange: (writable: boolean) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** Why the database cannot write, or undefined while it can. */
  get problem(): string | undefined {
    return this.reason
  }

  /**
   * Decides after a failed write whether the database as a whole is unwritable: the error says so, or a tiny
   * probe write fails too. Returns true (and enters the down state) if so.
   */
  async failed(error: unknown, probe: () => Promise<void>): Promise<boolean> {
    let cause = isStorageError(error) ? error : undefined
    if (!cause) {
      try {
        await probe()
      } catch (probeError) {
        cause = probeError
      }
    }
    if (!cause) return false
    const message = safeText((cause as Error)?.message ?? String(cause))
    if (this.reason === undefined) {
      this.downSince = this.now()
      this.log.warn(`DuckDB cannot write (${message}); holding messages in JetStream and retrying`)
      this.onChange(false)
    } else if (this.attempts % 10 === 0) {
      this.log.warn(
        `DuckDB still cannot write after ${Math.round((this.now() - this.downSince) / 1000)} s: ${message}`,
      )
    }
    this.reason = message
    return true
  }

  /** A write succeeded. */
  ok(): void {
    if (this.reason === undefined) return
    this.log.info(`DuckDB writes again after ${Math.round((this.now() - this.downSince) / 1000)} s; resuming`)
    this.reason = undefined
    this.attempts = 0
    this.onChange(true)
  }

  /** Waits before the next attempt: 0.5 s doubling to 30 s; returns early when `signal` aborts. */
  async backoff(signal: AbortSignal): Promise<void> {
    const ms = Math.min(FIRST_BACKOFF_MS * 2 ** this.attempts, MAX_BACKOFF_MS)
    this.attempts++
    await abortableSleep(ms, signal)
  }
}
