export { createUrlsKind, urlsKind } from "./append.ts"
export { URLS_CONFIG_DEFAULTS, URLS_SCHEMA_SQL, type UrlsConfig, UrlsConfigSchema } from "./schema.ts"
export type { StateChange, UrlState } from "./states.ts"
export { type StatsQuery, type UrlStats, type UrlStatsOptions, urlStats } from "./stats.ts"
