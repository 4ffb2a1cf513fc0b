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

/** What `ensureStreamAndConsumer` had to create (each false when it was there and only updated). */
export type EnsureResult = { stream: boolean; consumer: boolean; quarantine: boolean }

/**
 * Creates the stream, the durable pull consumer and the quarantine stream, or updates them to match the config.
 * Safe to call again at any time: the watchdog calls it when something was deleted under the collector.
 */
export async function ensureStreamAndConsumer(
  jsm: JetStreamManager,
  config: CollectorConfig,
  options: { update?: boolean; settleMs?: number } = {},
): Promise<EnsureResult> {
  // Updating what exists belongs to start-up; a watchdog only recreates what is missing (nats-server 2.9 can
  // fail an update racing with its own cleanup of a deleted stream).
  const update = options.update ?? true
  const created: EnsureResult = { stream: false, consumer: false, quarantine: false }
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
    if (update) await jsm.streams.update(s.name, streamConfig)
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error
    // nats-server 2.9 removes a deleted stream's files in the background; a stream recreated at once can lose
    // its new files to that cleanup and never deliver. Give it a moment first.
    if (options.settleMs) await Bun.sleep(options.settleMs)
    await jsm.streams.add({
      name: s.name,
      ...streamConfig,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
    })
    created.stream = true
  }
  created.quarantine = await ensureQuarantine(jsm, config, update)
  const c = config.consumer
  const consumerConfig = {
    max_ack_pending: c.max_ack_pending,
    ack_wait: nanos(c.ack_wait_s * 1000),
    filter_subject: c.filter_subject,
  }
  try {
    await jsm.consumers.info(s.name, c.durable_name)
    if (update) await jsm.consumers.update(s.name, c.durable_name, consumerConfig)
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) throw error
    await jsm.consumers.add(s.name, {
      durable_name: c.durable_name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ...consumerConfig,
    })
    created.consumer = true
  }
  return created
}

/**
 * The quarantine: a stream of its own with its own limits, so what waits for an operator can neither crowd out
 * nor be crowded out by live traffic. `discard: new` makes a full quarantine refuse new copies (counted as
 * `quarantine_refused`) rather than silently drop the oldest ones.
 */
async function ensureQuarantine(
  jsm: JetStreamManager,
  config: CollectorConfig,
  update: boolean,
): Promise<boolean> {
  const q = config.quarantine
  const streamConfig = {
    subjects: [`${q.subject_root}.>`],
    max_age: nanos(q.max_age_s * 1000),
    max_bytes: q.max_bytes,
    duplicate_window: nanos(Math.min(config.stream.duplicate_window_s, 600) * 1000),
    discard: DiscardPolicy.New,
    num_replicas: config.stream.replicas,
  }
  try {
    await jsm.streams.info(q.stream)
    if (update) await jsm.streams.update(q.stream, streamConfig)
    return false
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error
    await jsm.streams.add({
      name: q.stream,
      ...streamConfig,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
    })
    return true
  }
}

/** True for a JetStream API error with this code (e.g. stream or consumer not found). */
export function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code
}

/**
 * Replaces a consumer that exists but no longer delivers (seen with nats-server 2.9 after its stream was deleted
 * and recreated under it): the new one starts after the old one's ack floor, and dedup absorbs what is delivered
 * again above it.
 */
export async function replaceConsumer(jsm: JetStreamManager, config: CollectorConfig, startSeq: number) {
  const s = config.stream
  const c = config.consumer
  await jsm.consumers.delete(s.name, c.durable_name).catch(() => {})
  await jsm.consumers.add(s.name, {
    durable_name: c.durable_name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: startSeq > 1 ? DeliverPolicy.StartSequence : DeliverPolicy.All,
    ...(startSeq > 1 ? { opt_start_seq: startSeq } : {}),
    max_ack_pending: c.max_ack_pending,
    ack_wait: nanos(c.ack_wait_s * 1000),
    filter_subject: c.filter_subject,
  })
}
