export { type Enrollment, loadEnrollment } from "./enrollment.ts"
export { type IngestLoopOptions, runIngestLoop } from "./ingest-loop.ts"
export { ensureStreamAndConsumer } from "./stream-setup.ts"
export { type IncomingMessage, judgeMessage, type Verdict } from "./verify.ts"
