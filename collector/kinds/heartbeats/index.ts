export { createHeartbeatsKind, type HeartbeatsKind, heartbeatsKind } from "./append.ts"
export type { AgentPresence } from "./presence.ts"
export { HEARTBEATS_SCHEMA_SQL } from "./schema.ts"
