export { addRange, type Range, uncovered } from "./coverage.ts"
export { fileIdOf } from "./log-parts.ts"
export type { AcceptedEnvelope, RejectedEnvelope, WriteBatch, WriteResult } from "./types.ts"
export { DuckDbWriter } from "./writer.ts"
