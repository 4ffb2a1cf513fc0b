import type { Kind } from "../../shared/protocol/subjects.ts"
import type { Outbox } from "../outbox/types.ts"
import {
  type EntriesBatchLimits,
  EntriesTransport,
  type EntriesTransportOptions,
  type EntriesTransportStats,
} from "../transport/entries-transport.ts"

/** What every outbox kind is given once NATS is connected (the service's connection, signer, sequence). */
export type KindPublishOptions = Omit<EntriesTransportOptions, "kind" | "outbox" | "batch"> & {
  maxBytes: number
}

/** One kind's drain of the shared outbox into JetStream: started once connected, closed at stop. */
export function createOutboxPublisher(
  kind: Kind,
  outbox: Outbox,
  batch: Omit<EntriesBatchLimits, "max_bytes">,
) {
  let transport: EntriesTransport | undefined
  let publishing: Promise<void> | undefined
  return {
    publish(o: KindPublishOptions): void {
      const { maxBytes, ...rest } = o
      transport = new EntriesTransport({ ...rest, kind, outbox, batch: { ...batch, max_bytes: maxBytes } })
      publishing = transport.run()
    },
    /** publishes what waits until the deadline; what is left stays in the outbox for the next start */
    async close(deadlineMs: number): Promise<void> {
      if (transport && publishing) await transport.close(deadlineMs, publishing)
    },
    stats: (): EntriesTransportStats | null => transport?.stats ?? null,
  }
}
