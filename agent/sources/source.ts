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

/** A source runs until `ctx.signal` aborts; `emit` resolves when the transport has room (backpressure). */
export type Source = { name: string; run(ctx: SourceContext): Promise<void> }
export type SourceContext = { emit(chunk: LogChunk): Promise<void>; signal: AbortSignal }
