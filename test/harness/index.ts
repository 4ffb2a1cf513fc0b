export {
  entriesEnvelope,
  type LogsEnvelopeOptions,
  logsEnvelope,
  newTestKey,
  publishEnvelope,
  type TestKey,
  urlResult,
} from "./envelopes.ts"
export { LogWriter } from "./log-writer.ts"
export { type LoggedLine, type RecordingLogger, recordingLogger } from "./logger.ts"
export { type NatsServer, startNatsServer } from "./nats-server.ts"
export { createPipeline, type Pipeline } from "./pipeline.ts"
export { expectExactlyWritten } from "./pipeline-checks.ts"
export { type PipelineFixture, startPipelineFixture } from "./pipeline-fixture.ts"
export { freePort, waitFor } from "./ports.ts"
export {
  agentCommand,
  type Child,
  collectorCommand,
  compileAgent,
  spawnLogged,
  writeConfig,
} from "./processes.ts"
export { PROMTOOL, promtool, warnIfNoPromtool } from "./promtool.ts"
export { queryNumber, querySql } from "./sql.ts"
export { tempDir } from "./temp-dir.ts"
export { mountTmpfs } from "./tmpfs.ts"
