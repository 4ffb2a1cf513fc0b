export { type AgentConfig, AgentConfigSchema, type LogsSourceConfig, LogsSourceSchema } from "./schema.ts"
