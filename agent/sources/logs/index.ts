export { createLogsSource, type LogsSourceOptions } from "./source.ts"
