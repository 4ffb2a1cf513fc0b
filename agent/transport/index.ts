export {
  type EntriesBatchLimits,
  EntriesTransport,
  type EntriesTransportOptions,
  type EntriesTransportStats,
} from "./entries-transport.ts"
export {
  type BatchLimits,
  LogsTransport,
  type LogsTransportOptions,
  type TransportEvents,
  type TransportStats,
} from "./logs-transport.ts"
export { AbortError, connectNats, type NatsState } from "./nats-connection.ts"
export { publishWithRetry } from "./publisher.ts"
export { SequenceAllocator } from "./sequence.ts"
export { createShippingSummary } from "./summary.ts"
