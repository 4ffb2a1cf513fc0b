import type { Consumer } from "@nats-io/jetstream"
import { safeText } from "../../shared/log-text.ts"
import { createRepeatLimiter } from "../../shared/logger.ts"
import { type Delivery, HeldMessages } from "./delivery.ts"
import { toIncoming } from "./incoming.ts"
import { type BatchContext, processBatch } from "./process-batch.ts"

export type IngestLoopOptions = Omit<BatchContext, "signal" | "warnRepeated"> & {
  consumer: Consumer
  /** most messages written in one DuckDB transaction */
  batchMaxMessages: number
  /** most body bytes in one batch (a single larger envelope still goes alone) */
  batchMaxBytes: number
  /** the consumer's max_ack_pending: no batch waits for more than can be delivered */
  maxAckPending: number
  /** how long a batch waits for more messages after its first one */
  batchMaxWaitMs: number
  /** bytes asked for per pull request (must exceed the largest envelope) */
  pullMaxBytes: number
  /** the consumer's ack_wait: held messages are kept alive well within it */
  ackWaitMs: number
  /** a consume request failed (e.g. the consumer was deleted): lets the owner check the stream and consumer */
  onConsumeError?(error: unknown): Promise<void>
}

export type IngestLoop = {
  /** resolves when the loop has ended (after `signal` aborted and the batch in hand was settled) */
  done: Promise<void>
  /** runs every quarantined envelope through ingest again (after an enrollment change); returns how many */
  replayQuarantine(): Promise<number>
  /** unacknowledged messages held right now */
  held(): number
  /** ends the current pull and starts a new one (after the consumer was recreated, the old one may hang) */
  restartConsume(): void
  /** nothing buffered or held: the loop waits for the server (so if messages are pending, the pull is stuck) */
  idle(): boolean
}

/** A wake-up that can be awaited, optionally with a timeout. */
function createSignal() {
  let notify: () => void = () => {}
  return {
    notify: () => notify(),
    wait: (ms?: number) =>
      new Promise<void>((resolve) => {
        const timer = ms === undefined ? undefined : setTimeout(resolve, ms)
        notify = () => {
          clearTimeout(timer)
          resolve()
        }
      }),
  }
}

/**
 * Consumes the durable consumer continuously; messages are grouped into batches (size or wait bound) and each
 * batch is verified, written and settled by `processBatch`. The next messages keep arriving while a batch is
 * written; how many can wait unacknowledged is bounded by the consumer's `max_ack_pending`, and every one of them
 * is kept alive with `working()`, so a short ack_wait brings them back within seconds after a crash. Quarantine
 * replays take turns with stream batches, never running beside one.
 */
export function startIngestLoop(options: IngestLoopOptions, signal: AbortSignal): IngestLoop {
  const o = options
  const repeat = createRepeatLimiter(60_000)
  const warnRepeated = (key: string, message: string) => repeat(key, (line) => o.log.warn(line), message)
  const ctx: BatchContext = { ...o, signal, warnRepeated }
  const held = new HeldMessages()
  held.start(Math.max(200, Math.floor(o.ackWaitMs / 3)))
  let turn: Promise<unknown> = Promise.resolve()
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = turn.then(fn)
    turn = run.catch(() => {})
    return run
  }
  // Wrapped on arrival, so that messages waiting for their batch are kept alive too, not only the batch in hand.
  const buffer: Delivery[] = []
  let bufferedBytes = 0
  const arrived = createSignal()
  const drained = createSignal()
  // Messages pulled ahead of the batch in hand are bounded by bytes too, not only by max_ack_pending.
  const maxBufferedBytes = 2 * o.batchMaxBytes
  let ended = false
  let stopCurrent: () => void = () => {}
  const consumed = (async () => {
    while (!signal.aborted) {
      try {
        // Without abort_on_missing_resource a deleted consumer leaves consume() waiting on its own backoff;
        // with it, the error comes here at once and the owner recreates what is missing.
        const messages = await o.consumer.consume({
          max_bytes: o.pullMaxBytes,
          abort_on_missing_resource: true,
        })
        const stop = () => messages.stop()
        stopCurrent = stop
        signal.addEventListener("abort", stop, { once: true })
        for await (const m of messages) {
          buffer.push(held.delivery(m, toIncoming(m)))
          o.metrics.envelopesReceived()
          bufferedBytes += m.data.length
          arrived.notify()
          while (bufferedBytes > maxBufferedBytes && !signal.aborted) await drained.wait(1000)
        }
        signal.removeEventListener("abort", stop)
        if (!signal.aborted) await o.onConsumeError?.(new Error("consume ended"))
      } catch (error) {
        if (signal.aborted) break
        warnRepeated("consume", `consume failed, retrying: ${safeText((error as Error).message)}`)
        await o.onConsumeError?.(error)
        await Bun.sleep(200)
      }
    }
  })().finally(() => {
    ended = true
    arrived.notify()
  })
  const loop = async () => {
    for (;;) {
      if (buffer.length === 0) {
        if (ended) break
        await arrived.wait()
        continue
      }
      const deadline = Date.now() + o.batchMaxWaitMs
      // Waiting longer cannot help once everything the consumer may deliver unacknowledged is here.
      const more = () =>
        buffer.length < o.batchMaxMessages && bufferedBytes < o.batchMaxBytes && held.size < o.maxAckPending
      while (more() && !ended && Date.now() < deadline) {
        await arrived.wait(deadline - Date.now())
      }
      // Messages already received are processed even when stopping, so their acks go out before exit.
      let take = 0
      let bytes = 0
      while (take < buffer.length && take < o.batchMaxMessages) {
        const size = (buffer[take] as Delivery).incoming.data.length
        if (take > 0 && bytes + size > o.batchMaxBytes) break
        bytes += size
        take++
      }
      bufferedBytes -= bytes
      drained.notify()
      const batch = buffer.splice(0, take)
      try {
        await exclusive(() => processBatch(ctx, batch))
      } catch (error) {
        // Never leave the loop over one batch: unsettled messages come back after ack_wait.
        o.log.error(`batch of ${batch.length} messages failed: ${safeText((error as Error).message)}`)
      }
    }
    await consumed
    held.stop()
  }
  return {
    done: loop(),
    replayQuarantine: () => o.quarantine.replay((batch) => exclusive(() => processBatch(ctx, batch))),
    held: () => held.size,
    restartConsume: () => stopCurrent(),
    idle: () => held.size === 0,
  }
}
