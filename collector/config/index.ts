export { type CollectorConfig, CollectorConfigSchema } from "./schema.ts"
