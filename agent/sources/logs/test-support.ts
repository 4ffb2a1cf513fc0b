import type { Database } from "bun:sqlite"
import { readdirSync, readlinkSync } from "node:fs"
import { join } from "node:path"
import { type LoggedLine, recordingLogger, tempDir } from "../../../test/harness/index.ts"
import { waitFor } from "../../../test/harness/ports.ts"
import type { LogsSourceConfig } from "../../config/schema.ts"
import { openStateDb } from "../../state/index.ts"
import type { LogChunk, Source } from "../source.ts"
import { createLogsSource } from "./source.ts"

/** A logs source config for tests: fast polling, short rotate wait, small chunks. */
export function testConfig(
  overrides: Partial<LogsSourceConfig> & Pick<LogsSourceConfig, "paths">,
): LogsSourceConfig {
  return {
    name: "test",
    mode: "all",
    rules: [],
    start_at: "beginning",
    max_line_bytes: 1024,
    read_chunk_bytes: 4096,
    poll_interval_ms: 20,
    rotate_wait_ms: 100,
    ...overrides,
  }
}

/** Splits a chunk's parts into lines (raw blocks on "\n"). */
export function chunkLines(chunk: LogChunk): string[] {
  const out: string[] = []
  for (const part of chunk.parts) {
    const text = Buffer.from(part.bytes).toString("utf8")
    if (!part.raw) out.push(text)
    else out.push(...text.slice(0, -1).split("\n"))
  }
  return out
}

export type TestRun = {
  /** every chunk emitted so far, in order */
  chunks: LogChunk[]
  /** lines of the emitted chunks (of one path, or the chunks a filter accepts) */
  lines(which?: string | ((chunk: LogChunk) => boolean)): string[]
  /** acks, in order, every emitted chunk not acked yet */
  ackAll(): void
  /** how many chunks (the first ones) were acked */
  acked(): number
  /** while closed, emit blocks (backpressure); opening lets it return */
  gate: { close(): void; open(): void }
  /** the problems it logged (warn and error) as the log shows them: "logs[<name>]: <message>" */
  readonly logs: string[]
  /** everything it logged, every level */
  events: LoggedLine[]
  /** resolves once the file watcher is in place */
  watching: Promise<void>
  /** how many rescans (each followed by a read round) have started so far */
  scans(): number
  /** resolves after `n` more rescans (each followed by a read round) have started */
  afterScans(n: number): Promise<void>
  /** the source being run */
  source: Source
  /** aborts and waits for run() to resolve */
  stop(): Promise<void>
  done: Promise<void>
}

export type RunOptions = {
  /** ack each chunk as soon as it is emitted (default true) */
  autoAck?: boolean
  /** start with the gate closed: the first emit blocks */
  gated?: boolean
  /** called with each chunk as it is emitted, before it is recorded */
  onEmit?: (chunk: LogChunk) => void
  /** the source's clock */
  now?: () => number
  /** backlog reporting threshold and interval */
  backlog?: { thresholdBytes?: number; everyMs?: number }
}

/** Runs a logs source with a test context: emit records the chunk and (with `autoAck`) acks it at once. */
export function runSource(db: Database, config: LogsSourceConfig, opts: RunOptions = {}): TestRun {
  const autoAck = opts.autoAck ?? true
  const chunks: LogChunk[] = []
  let acked = 0
  let gate: { promise: Promise<void>; resolve: () => void } | undefined = opts.gated
    ? Promise.withResolvers<void>()
    : undefined
  const logger = recordingLogger(`logs[${config.name}]`)
  const controller = new AbortController()
  const watching = Promise.withResolvers<void>()
  let scans = 0
  const source = createLogsSource({
    config,
    db,
    now: opts.now,
    backlog: opts.backlog,
    logger,
    observe: { watching: () => watching.resolve(), scan: () => void scans++ },
  })
  const ackAll = () => {
    while (acked < chunks.length) chunks[acked++]?.ack()
  }
  const done = source.run({
    signal: controller.signal,
    async emit(chunk) {
      opts.onEmit?.(chunk)
      chunks.push(chunk)
      if (autoAck) ackAll()
      if (gate) await gate.promise
    },
  })
  return {
    chunks,
    lines: (which) =>
      chunks
        .filter((c) => which === undefined || (typeof which === "string" ? c.file.path === which : which(c)))
        .flatMap(chunkLines),
    ackAll,
    acked: () => acked,
    gate: {
      close() {
        gate ??= Promise.withResolvers<void>()
      },
      open() {
        gate?.resolve()
        gate = undefined
      },
    },
    get logs() {
      return logger.lines
        .filter((l) => l.level === "warn" || l.level === "error")
        .map((l) => `${l.component}: ${l.message}`)
    },
    events: logger.lines,
    source,
    watching: watching.promise,
    scans: () => scans,
    afterScans(n) {
      const target = scans + n
      return waitFor(`${n} more rescans`, () => scans >= target)
    },
    async stop() {
      controller.abort()
      await done
    },
    done,
  }
}

export type Sandbox = {
  dir: string
  db: Database
  file(name: string): string
  /** starts a source (test config) on the sandbox's db; stopped on dispose */
  start(config: Parameters<typeof testConfig>[0], opts?: RunOptions): TestRun
  /** the generation rows of the sandbox's db, oldest first */
  rows(): { gen: string; path: string; ino: string; position: number; status: string }[]
  [Symbol.asyncDispose](): Promise<void>
}

/** A temp dir with a state db (`await using s = sandbox()`). */
export function sandbox(): Sandbox {
  const dir = tempDir()
  const db = openStateDb(join(dir.path, "state"))
  const runs: TestRun[] = []
  return {
    dir: dir.path,
    db,
    file: (name) => join(dir.path, name),
    start(config, opts) {
      const run = runSource(db, testConfig(config), opts)
      runs.push(run)
      return run
    },
    rows: () =>
      db
        .query<{ gen: string; path: string; ino: string; position: number; status: string }, []>(
          "SELECT gen, path, ino, position, status FROM log_files ORDER BY created_at, rowid",
        )
        .all(),
    async [Symbol.asyncDispose]() {
      for (const run of runs) await run.stop()
      db.close()
      await dir[Symbol.asyncDispose]()
    },
  }
}

/** What the file descriptors of this process point at (Linux /proc; a deleted file ends in " (deleted)"). */
function openFiles(): string[] {
  const out: string[] = []
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      out.push(readlinkSync(`/proc/self/fd/${fd}`))
    } catch {
      // closed meanwhile
    }
  }
  return out
}

/** Files this process holds open that were deleted (Linux /proc). */
export function openDeletedFiles(): string[] {
  return openFiles().filter((target) => target.endsWith(" (deleted)"))
}

/** Whether this process holds the file now at `path` open (a rename shows in /proc at once). */
export function holdsOpen(path: string): boolean {
  return openFiles().includes(path)
}
