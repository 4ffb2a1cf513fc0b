import type { JetStreamClient } from "@nats-io/jetstream"
import { headers as natsHeaders } from "@nats-io/transport-node"
import type { SignedEnvelope } from "../../shared/protocol/envelope.ts"

export type PublishRetryOptions = {
  js: JetStreamClient
  timeoutMs: number
  /** stops retrying when aborted; the publish then rejects */
  signal: AbortSignal
  onRetry?: (error: unknown, attempt: number) => void
}

/**
 * Publishes one envelope and resolves once JetStream acknowledged it (or reported it a duplicate).
 * Failures are retried with the same bytes and msg id, with capped exponential backoff, until `signal` aborts.
 */
export async function publishWithRetry(
  envelope: SignedEnvelope,
  options: PublishRetryOptions,
): Promise<void> {
  const hdrs = natsHeaders()
  for (const [name, value] of Object.entries(envelope.headers)) hdrs.set(name, value)
  let attempt = 0
  for (;;) {
    try {
      await options.js.publish(envelope.subject, envelope.body, {
        msgID: envelope.id,
        headers: hdrs,
        timeout: options.timeoutMs,
      })
      return
    } catch (error) {
      attempt++
      if (options.signal.aborted) throw error
      options.onRetry?.(error, attempt)
      await abortableSleep(Math.min(100 * 2 ** Math.min(attempt, 6), 5000), options.signal)
    }
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener("abort", done)
      resolve()
    }
    signal.addEventListener("abort", done, { once: true })
  })
}
