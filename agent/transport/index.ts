export {
  type BatchLimits,
  LogsTransport,
  type LogsTransportOptions,
  type TransportStats,
} from "./logs-transport.ts"
export { connectNats } from "./nats-connection.ts"
export { publishWithRetry } from "./publisher.ts"
export { SequenceAllocator } from "./sequence.ts"
