import type { Kind } from "../../shared/protocol/subjects.ts"
import { createHeartbeatsKind, type HeartbeatsKind, heartbeatsKind } from "./heartbeats/index.ts"
import type { EntryKindModule } from "./kind.ts"
import { createUrlsKind, type UrlsConfig, urlsKind } from "./urls/index.ts"

/**
 * Every outbox kind this collector stores, by kind. `logs` is not here: its body (byte ranges of files) has its
 * own codec and dedup (collector/sinks/duckdb/log-parts.ts). A kind missing from this list is refused as
 * `unsupported_kind`. Adding a kind: see docs/ARCHITECTURE.md, "How to add a kind".
 */
export const ENTRY_KINDS: readonly EntryKindModule[] = [
  urlsKind as unknown as EntryKindModule,
  heartbeatsKind as unknown as EntryKindModule,
]

const byKind = new Map<Kind, EntryKindModule>(ENTRY_KINDS.map((k) => [k.kind, k]))

/** The module of an outbox kind, if this collector stores it. */
export function entryKind(kind: Kind): EntryKindModule | undefined {
  return byKind.get(kind)
}

/** One collector's kind modules, made with its config: what the writer stores, the same list as ENTRY_KINDS. */
export function createEntryKinds(config: { urls: UrlsConfig }): {
  modules: EntryKindModule[]
  heartbeats: HeartbeatsKind
} {
  const heartbeats = createHeartbeatsKind()
  const modules = [createUrlsKind(config.urls), heartbeats] as unknown as EntryKindModule[]
  return { modules, heartbeats }
}
