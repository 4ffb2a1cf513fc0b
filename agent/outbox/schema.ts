import { type Static, Type as T } from "@sinclair/typebox"

const MiB = 1024 * 1024

/** `[outbox]`: the bound on the agent's durable outbox; past it the oldest entries are dropped (and counted). */
export const OutboxConfigSchema = T.Object(
  {
    max_bytes: T.Integer({
      minimum: MiB,
      default: 64 * MiB,
      description: "bytes of entries kept while they cannot be published, at least 1048576 (1 MiB)",
    }),
    max_entries: T.Integer({
      minimum: 100,
      default: 1_000_000,
      description: "entries kept while they cannot be published, at least 100",
    }),
  },
  { additionalProperties: false, default: {} },
)
export type OutboxConfig = Static<typeof OutboxConfigSchema>
