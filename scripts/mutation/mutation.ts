/**
 * Hand-written mutations of the modules whose bugs would break Outpost's promises: each is a small, realistic
 * edit (one an engineer could make by mistake) that the tests listed with it must notice. `critical` marks an
 * edit of an ack, commit, signature or dedup decision: every one of those must be caught.
 */
export type Edit = { find: string; replace: string }

export type Mutation = {
  id: string
  file: string
  /** applied in order; each `find` must occur exactly once in the file at that point */
  edits: Edit[]
  /** the bug, in words */
  bug: string
  critical: boolean
  /** test files (or folders) that should catch it */
  tests: string[]
}

export const ENVELOPE = ["shared/protocol/envelope.test.ts", "collector/ingest/verify.test.ts"]
export const BODY = ["shared/protocol/logs-body.test.ts", "collector/ingest/verify.test.ts"]
export const COVERAGE = [
  "collector/sinks/duckdb/coverage.test.ts",
  "collector/sinks/duckdb/log-parts.test.ts",
  "collector/sinks/duckdb/writer.test.ts",
]
export const WRITER = [
  "collector/sinks/duckdb/writer.test.ts",
  "collector/sinks/duckdb/writer-bounds.test.ts",
  "collector/sinks/duckdb/log-parts.test.ts",
]
export const INGEST = [
  "collector/ingest/process-batch.int.test.ts",
  "collector/ingest/ingest.int.test.ts",
  "collector/ingest/write-failure.int.test.ts",
  "collector/ingest/quarantine.int.test.ts",
  "collector/ingest/storage.int.test.ts",
  "test/e2e/collector-crash.int.test.ts",
]
export const TAILER = ["agent/sources/logs/tailer.test.ts", "agent/sources/logs/source.test.ts"]
export const TRACKER = [
  "agent/sources/logs/rotation.test.ts",
  "agent/sources/logs/restart.test.ts",
  "agent/sources/logs/source.test.ts",
  "agent/sources/logs/model.test.ts",
]
export const TRANSPORT = [
  "agent/transport/logs-transport.int.test.ts",
  "agent/transport/publisher.int.test.ts",
]

export const one = (find: string, replace: string): Edit[] => [{ find, replace }]
