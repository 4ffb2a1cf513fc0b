import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { LogWriter } from "./log-writer.ts"
import { type NatsServer, startNatsServer } from "./nats-server.ts"
import { createPipeline, type Pipeline } from "./pipeline.ts"
import { compileAgent } from "./processes.ts"
import { queryNumber } from "./sql.ts"
import { tempDir } from "./temp-dir.ts"

/** A nats-server, a pipeline (agent + collector configs) around it, and a writer for its log folder. */
export type PipelineFixture = {
  nats: NatsServer
  pipeline: Pipeline
  logs: LogWriter
  /** rows in the collector's `logs` view */
  count(): Promise<number>
  /** kills the processes, stops nats-server, removes the folder (kept with OUTPOST_KEEP_TEST_DIR=1) */
  dispose(): Promise<void>
}

/** Sets up an end-to-end test in a temp folder; with `compiledAgent` the agent runs as the built binary. */
export async function startPipelineFixture(prefix: string, options: { compiledAgent?: boolean } = {}) {
  const dir = tempDir(prefix)
  const nats = await startNatsServer()
  const agentBinary = options.compiledAgent ? await compileAgent(join(dir.path, "outpost-agent")) : undefined
  const pipeline = await createPipeline({ dir: dir.path, nats, agentBinary })
  mkdirSync(pipeline.logsDir, { recursive: true })
  const fixture: PipelineFixture = {
    nats,
    pipeline,
    logs: new LogWriter(pipeline.logsDir),
    count: () => queryNumber(pipeline.httpUrl, "SELECT count(*) AS n FROM logs"),
    async dispose() {
      await pipeline.stopAll()
      await nats[Symbol.asyncDispose]()
      if (!process.env.OUTPOST_KEEP_TEST_DIR) await dir[Symbol.asyncDispose]()
    },
  }
  return fixture
}
