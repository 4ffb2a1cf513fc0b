/**
 * Gathers entries for `maxWaitMs` (or up to `maxEntries`) and hands them to `write` at once: one outbox
 * transaction for many results instead of one each (with 1,000 checks, per-result commits were an eighth of the
 * agent's CPU). What is gathered exists only in memory for that long, like a check still running; `flush` writes it
 * at once (at stop).
 */
export function createAppendBatcher<E>(o: {
  write: (entries: E[]) => void
  maxWaitMs: number
  maxEntries: number
}) {
  let pending: E[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    if (pending.length === 0) return
    const entries = pending
    pending = []
    o.write(entries)
  }
  return {
    add(entries: readonly E[]): void {
      pending.push(...entries)
      if (pending.length >= o.maxEntries) flush()
      else timer ??= setTimeout(flush, o.maxWaitMs)
    },
    flush,
    get pending(): number {
      return pending.length
    },
  }
}
