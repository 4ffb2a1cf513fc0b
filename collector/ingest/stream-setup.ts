import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream"
import { nanos } from "@nats-io/transport-node"
import type { CollectorConfig } from "../config/schema.ts"

/** Creates the stream and the durable pull consumer, or updates them to match the config. */
export async function ensureStreamAndConsumer(jsm: JetStreamManager, config: CollectorConfig): Promise<void> {
  const s = config.stream
  const streamConfig = {
    subjects: s.subjects,
    max_age: nanos(s.max_age_s * 1000),
    max_bytes: s.max_bytes,
    duplicate_window: nanos(s.duplicate_window_s * 1000),
    discard: s.discard === "old" ? DiscardPolicy.Old : DiscardPolicy.New,
    num_replicas: s.replicas,
  }
  try {
    await jsm.streams.info(s.name)
    await jsm.streams.update(s.name, streamConfig)
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error
    await jsm.streams.add({
      name: s.name,
      ...streamConfig,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
    })
  }
  const c = config.consumer
  const consumerConfig = {
    max_ack_pending: c.max_ack_pending,
    ack_wait: nanos(c.ack_wait_s * 1000),
    filter_subject: c.filter_subject,
  }
  try {
    await jsm.consumers.info(s.name, c.durable_name)
    await jsm.consumers.update(s.name, c.durable_name, consumerConfig)
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) throw error
    await jsm.consumers.add(s.name, {
      durable_name: c.durable_name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ...consumerConfig,
    })
  }
}

function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code
}
