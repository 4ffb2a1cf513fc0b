export * from "./envelope.ts"
export * from "./keys.ts"
export * from "./logs-body.ts"
export * from "./subjects.ts"
