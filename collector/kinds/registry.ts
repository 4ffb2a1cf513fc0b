import type { Kind } from "../../shared/protocol/subjects.ts"
import { createHeartbeatsKind, type HeartbeatsKind } from "./heartbeats/index.ts"
import type { EntryKindModule } from "./kind.ts"
import { createUrlsKind, URLS_CONFIG_DEFAULTS, type UrlsConfig } from "./urls/index.ts"

/**
 * The one list of outbox kinds, made with a collector's config: what its writer stores. `logs` is not here: its
 * body (byte ranges of files) has its own codec and dedup (collector/sinks/duckdb/log-parts.ts). Adding a kind:
 * see docs/ARCHITECTURE.md, "How to add a kind".
 */
export function createEntryKinds(config: { urls: UrlsConfig }): {
  modules: EntryKindModule[]
  heartbeats: HeartbeatsKind
} {
  const heartbeats = createHeartbeatsKind()
  const modules = [createUrlsKind(config.urls), heartbeats] as unknown as EntryKindModule[]
  return { modules, heartbeats }
}

/** Every outbox kind (for verify: a kind missing here is refused as `unsupported_kind`). */
export const ENTRY_KINDS: readonly EntryKindModule[] = createEntryKinds({
  urls: URLS_CONFIG_DEFAULTS,
}).modules

const byKind = new Map<Kind, EntryKindModule>(ENTRY_KINDS.map((k) => [k.kind, k]))

/** The module of an outbox kind, if this collector stores it. */
export function entryKind(kind: Kind): EntryKindModule | undefined {
  return byKind.get(kind)
}
