export { judge, resolveUrlCheck, runUrlCheck, type UrlCheck, type UrlResultDraft } from "./check.ts"
export { checkUrlChecks, parseTcpTarget, urlCheckHostProblems } from "./checks.ts"
export { type HttpProbeRequest, type ProbeResult, probeHttp, probeTcp } from "./probe.ts"
export { createScheduler, type Job, type JobStats, jitterOffset, type Scheduler } from "./schedule.ts"
export { MAX_BODY_BYTES, runsOn, type UrlCheckConfig, UrlCheckSchema, urlCheckName } from "./schema.ts"
export {
  createUrlsSource,
  type UrlCheckStatus,
  type UrlsSource,
  type UrlsSourceOptions,
  type UrlsStatus,
} from "./source.ts"
