export { HEARTBEAT_CONFIG_DEFAULTS, type HeartbeatConfig, HeartbeatConfigSchema } from "./schema.ts"
export { heartbeatOutbox, heartbeatSourceStatus } from "./snapshot.ts"
export {
  createHeartbeatSource,
  type HeartbeatDraft,
  type HeartbeatSnapshot,
  type HeartbeatSource,
  type HeartbeatSourceOptions,
  type HeartbeatStats,
} from "./source.ts"
