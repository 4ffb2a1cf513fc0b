export { openStateDb, STATE_SCHEMA_VERSION } from "./database.ts"
export { getMeta, setMeta } from "./meta.ts"
