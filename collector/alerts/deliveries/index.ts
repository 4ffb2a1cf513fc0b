export { DELIVERIES_SCHEMA_SQL } from "./schema.ts"
export { type DeliveryState, DeliveryStore, type DueDelivery, type NewDelivery } from "./store.ts"
export { type DeliveryTarget, DeliveryWorker, retryDelayMs, type TargetState } from "./worker.ts"
