/**
 * Native worker threads: every async call of @duckdb/node-api (run, prepare, fetchChunk...) occupies one
 * thread of the runtime's native worker pool until DuckDB returns, and a running query is driven by that
 * thread. Bun sizes the pool from `UV_THREADPOOL_SIZE` read at process start (setting it later has no
 * effect); without it the pool had 2 threads on the 2-CPU hosts measured. When queries hold every thread,
 * the writer's next call waits for one: two long queries delayed a COMMIT by 51 s. So the pool runs at most
 * `threads - 1` queries at once.
 */

/** Bun's pool size when `UV_THREADPOOL_SIZE` is not set, as measured; larger hosts may have more. */
const DEFAULT_NATIVE_THREADS = 2

/** The native worker threads of this process, and whether `UV_THREADPOOL_SIZE` says so. */
export function nativeThreads(env: Record<string, string | undefined> = process.env): {
  threads: number
  fromEnv: boolean
} {
  const set = Number.parseInt(env.UV_THREADPOOL_SIZE ?? "", 10)
  return Number.isInteger(set) && set > 0
    ? { threads: Math.min(set, 1024), fromEnv: true }
    : { threads: DEFAULT_NATIVE_THREADS, fromEnv: false }
}

/**
 * `call`'s result, or `signal.reason` as soon as `signal` aborts. DuckDB cannot interrupt everything
 * (constant folding while preparing a statement, for one), so the client gets its answer on time while the
 * call finishes in the background; `settled` tells the caller when the thread is free again.
 */
export function untilAborted<T>(
  call: Promise<T>,
  signal: AbortSignal,
): { result: Promise<T>; settled: Promise<void> } {
  const settled = call.then(
    () => {},
    () => {},
  )
  const result = new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const onAbort = () => reject(signal.reason)
    signal.addEventListener("abort", onAbort, { once: true })
    void call.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort))
  })
  return { result, settled }
}
