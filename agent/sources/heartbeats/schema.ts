import { type Static, Type as T } from "@sinclair/typebox"

/** `[heartbeat]`: how often the agent tells the collector it is alive, and how it is doing. */
export const HeartbeatConfigSchema = T.Object(
  {
    enabled: T.Boolean({
      default: true,
      description: "true or false: send a heartbeat (the heartbeats kind) every interval_s",
    }),
    interval_s: T.Number({
      minimum: 1,
      maximum: 300,
      default: 10,
      description: "seconds between two heartbeats, 1-300; the collector judges silence against it",
    }),
  },
  { additionalProperties: false, default: {} },
)
export type HeartbeatConfig = Static<typeof HeartbeatConfigSchema>

/** What an empty (or missing) `[heartbeat]` section means. */
export const HEARTBEAT_CONFIG_DEFAULTS: HeartbeatConfig = { enabled: true, interval_s: 10 }
