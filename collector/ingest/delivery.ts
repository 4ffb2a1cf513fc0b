import type { JsMsg } from "@nats-io/jetstream"
import type { IncomingMessage } from "./verify.ts"

/** Where a message being ingested came from: the main stream, or the quarantine being replayed. */
export type DeliverySource = "stream" | "quarantine"

/**
 * One message in ingest, however it arrived. Settling it is the only thing that differs by source: a stream
 * message is acked or terminated, a quarantined copy is deleted from the quarantine once it is settled for good.
 */
export type Delivery = {
  source: DeliverySource
  incoming: IncomingMessage
  /** how many times this message was delivered (1 for a quarantine replay) */
  deliveryCount: number
  /** its rows (or the fact it was there already) are committed */
  ack(): void
  /** its rejection is committed: it must never come back */
  term(): void
  /** not settled: try again after `delayMs` */
  retry(delayMs: number): void
}

/** Unacknowledged stream messages this collector holds; `working()` keeps their short ack_wait from expiring. */
export class HeldMessages {
  private readonly held = new Set<JsMsg>()
  private timer: ReturnType<typeof setInterval> | undefined

  /** Sends `working()` for every held message each `intervalMs` (a third of ack_wait leaves room for a late tick). */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      for (const m of this.held) m.working()
    }, intervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  get size(): number {
    return this.held.size
  }

  /** Wraps a JetStream message; settling it stops its keep-alive. */
  delivery(m: JsMsg, incoming: IncomingMessage): Delivery {
    this.held.add(m)
    const release = () => this.held.delete(m)
    return {
      source: "stream",
      incoming,
      deliveryCount: m.info.deliveryCount,
      ack: () => {
        release()
        m.ack()
      },
      // No reason argument: "+TERM <reason>" needs nats-server 2.10.4+, and 2.9 ignores it (the message stays pending).
      term: () => {
        release()
        m.term()
      },
      retry: (delayMs) => {
        release()
        m.nak(delayMs)
      },
    }
  }
}
