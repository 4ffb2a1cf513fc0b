export { type Enrollment, loadEnrollment } from "./enrollment.ts"
export { type IngestLoop, type IngestLoopOptions, startIngestLoop } from "./ingest-loop.ts"
export { ensureStreamAndConsumer } from "./stream-setup.ts"
export { type IncomingMessage, judgeMessage, type Verdict } from "./verify.ts"
