import type { LogFileRef } from "../../shared/protocol/logs-body.ts"

/** One piece of a log chunk: a block of whole lines (raw) or a single line (matched or truncated). */
export type LogChunkPart = {
  /** file offset of the first byte */
  offset: number
  /** raw: whole lines each ending in "\n"; otherwise one line without its newline */
  bytes: Uint8Array
  raw: boolean
  truncated?: boolean
  rule?: string
}

/**
 * What the logs source emits: everything read from one file generation between two positions.
 * `parts` may be empty (nothing matched) so that the position still advances.
 */
export type LogChunk = {
  source: string
  file: LogFileRef
  startOffset: number
  /** position after this chunk; saved once the envelope carrying it is acknowledged */
  endOffset: number
  /** number of lines in `parts` */
  lines: number
  parts: LogChunkPart[]
  /** ms since the epoch */
  readAt: number
  /** called by the transport, in emit order, after JetStream acknowledged every earlier chunk and this one */
  ack(): void
}

/** One file generation being read, as /metrics and the agent's page show it. */
export type FileStatus = {
  source: string
  path: string
  gen: string
  /** active: the file at `path`; draining: renamed away, deleted or a copy, read to its end */
  state: "active" | "draining"
  /** next byte to read */
  position: number
  /** end of what JetStream acknowledged: the position saved in the state db */
  acked: number
  /** size at the last look */
  size: number
  /** size - position */
  behind: number
}

/** What a source reads now: each configured path or glob with the number of files it matches, and the files. */
export type SourceStatus = { patterns: { pattern: string; files: number }[]; files: FileStatus[] }

/**
 * A source runs until `ctx.signal` aborts; `emit` resolves when the transport has room (backpressure).
 * `status` tells what it reads (empty before `run`).
 */
export type Source = { name: string; run(ctx: SourceContext): Promise<void>; status?(): SourceStatus }
export type SourceContext = { emit(chunk: LogChunk): Promise<void>; signal: AbortSignal }
