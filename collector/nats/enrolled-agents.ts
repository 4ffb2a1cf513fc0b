import { readEnrolledKeys } from "../ingest/enrollment.ts"
import type { NatsAgent } from "./auth-config.ts"

/** Every enrolled key with its agent, from `enrolled_keys` (read as verification reads it). */
export function loadEnrolledAgents(path: string): NatsAgent[] {
  return readEnrolledKeys(path).map(({ agent, publicKeyRaw }) => ({ agent, publicKeyRaw }))
}
