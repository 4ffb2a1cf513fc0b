/** Shared pieces of the benchmarks in scripts/bench, one concept per file; this module re-exports them. */
export * from "./constants.ts"
export * from "./format.ts"
export * from "./lifecycle.ts"
export * from "./logs.ts"
export * from "./options.ts"
export * from "./proc.ts"
export * from "./product.ts"
