import type { HeartbeatOutbox, HeartbeatSourceStatus } from "../../../shared/protocol/heartbeats/heartbeat.ts"
import type { OutboxStats } from "../../outbox/types.ts"
import type { SourceStatus } from "../source.ts"

/**
 * A source's part of a heartbeat from its status: the files it reads and the bytes they are ahead of it. `lag_s`
 * is left out: the tailer does not keep the time of its oldest unacknowledged read.
 */
export function heartbeatSourceStatus(name: string, status: SourceStatus | undefined): HeartbeatSourceStatus {
  let behind = 0
  for (const f of status?.files ?? []) behind += Math.max(0, f.behind)
  return { name, files: status?.files.length ?? 0, behind_bytes: behind }
}

/** The outbox's part of a heartbeat from its stats (drops counted since it was opened, that is since start). */
export function heartbeatOutbox(stats: OutboxStats): HeartbeatOutbox {
  return {
    entries: stats.entries,
    bytes: stats.bytes,
    dropped_total: stats.droppedSinceOpen,
    oldest_at: stats.oldestAt ?? null,
  }
}
