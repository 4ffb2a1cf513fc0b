export { OUTBOX_SCHEMA_VERSION, type OutboxSync } from "./database.ts"
export { openOutbox } from "./outbox.ts"
export { type OutboxConfig, OutboxConfigSchema } from "./schema.ts"
export {
  MAX_ENTRY_BYTES,
  type Outbox,
  type OutboxEntry,
  type OutboxOptions,
  type OutboxPeek,
  type OutboxStats,
} from "./types.ts"
