import type { JetStreamClient } from "@nats-io/jetstream"
import { headers as natsHeaders } from "@nats-io/transport-node"
import { abortableSleep } from "../../shared/abortable-sleep.ts"
import type { LogLevel } from "../../shared/logger.ts"
import type { SignedEnvelope } from "../../shared/protocol/envelope.ts"

export type PublishRetryOptions = {
  js: JetStreamClient
  timeoutMs: number
  /** stops retrying when aborted; the publish then rejects */
  signal: AbortSignal
  onRetry?: (error: unknown, attempt: number) => void
  /** where the duplicate-on-first-publish alarm goes (at warn) */
  log?: (message: string, level?: LogLevel) => void
  /** counts envelopes JetStream already had before their first publish */
  stats?: { duplicateFirstPublish: number }
}

/**
 * Publishes one envelope and resolves once JetStream acknowledged it (or reported it a duplicate).
 * Failures are retried with the same bytes and msg id, with capped exponential backoff, until `signal` aborts.
 * A duplicate on a retry is the normal sign that an earlier attempt got through. A duplicate on the first
 * attempt means another client published this id first: an alarm (logged, counted), though still success, as
 * the id carries the body's hash, so the stream holds these very bytes.
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
      const ack = await options.js.publish(envelope.subject, envelope.body, {
        msgID: envelope.id,
        headers: hdrs,
        timeout: options.timeoutMs,
      })
      if (ack.duplicate && attempt === 0) {
        if (options.stats) options.stats.duplicateFirstPublish++
        options.log?.(
          `JetStream already had envelope ${envelope.id} before its first publish: another client published this id; check NATS permissions`,
          "warn",
        )
      }
      return
    } catch (error) {
      attempt++
      if (options.signal.aborted) throw error
      options.onRetry?.(error, attempt)
      await abortableSleep(Math.min(100 * 2 ** Math.min(attempt, 6), 5000), options.signal)
    }
  }
}
