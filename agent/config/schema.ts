import { type Static, Type as T } from "@sinclair/typebox"
import { AgentNatsAuthSchema, NatsTlsSchema } from "../../shared/config/nats-schema.ts"

const Rule = T.Object(
  {
    name: T.String({ minLength: 1, description: "a rule name" }),
    keywords: T.Optional(T.Array(T.String({ minLength: 1 }), { description: "a list of non-empty strings" })),
    regex: T.Optional(T.String({ minLength: 1, description: "a JavaScript regular expression" })),
  },
  { additionalProperties: false },
)

/** One `[[logs]]` source: files and globs to tail. */
export const LogsSourceSchema = T.Object(
  {
    name: T.String({
      pattern: "^[A-Za-z0-9_.-]{1,64}$",
      description: "a name of letters, digits, '_', '.', '-'",
    }),
    paths: T.Array(T.String({ minLength: 1 }), {
      minItems: 1,
      description: "a non-empty list of file paths or globs",
    }),
    mode: T.Union([T.Literal("all"), T.Literal("match")], { default: "all" }),
    rules: T.Array(Rule, { default: [] }),
    start_at: T.Union([T.Literal("end"), T.Literal("beginning")], { default: "end" }),
    max_line_bytes: T.Integer({ minimum: 64, maximum: 16 * 1024 * 1024, default: 64 * 1024 }),
    read_chunk_bytes: T.Integer({ minimum: 4096, maximum: 8 * 1024 * 1024, default: 256 * 1024 }),
    poll_interval_ms: T.Integer({ minimum: 10, maximum: 60_000, default: 500 }),
    rotate_wait_ms: T.Integer({ minimum: 0, maximum: 600_000, default: 2000 }),
  },
  { additionalProperties: false },
)
export type LogsSourceConfig = Static<typeof LogsSourceSchema>

export const AgentConfigSchema = T.Object(
  {
    agent_id: T.String({ pattern: "^[A-Za-z0-9_-]{1,64}$", description: "1-64 letters, digits, '_' or '-'" }),
    host: T.Optional(T.String({ minLength: 1 })),
    state_dir: T.String({ minLength: 1, description: "a directory path" }),
    private_key_file: T.String({
      minLength: 1,
      description: "a path to the PEM file from 'outpost-agent keygen'",
    }),
    nats: T.Object(
      {
        servers: T.Array(T.String({ pattern: "^(nats|tls)://", description: "a nats:// or tls:// URL" }), {
          minItems: 1,
          default: ["nats://127.0.0.1:4222"],
        }),
        publish_timeout_ms: T.Integer({ minimum: 100, maximum: 120_000, default: 5000 }),
        auth: AgentNatsAuthSchema,
        tls: T.Optional(NatsTlsSchema),
      },
      { additionalProperties: false, default: {} },
    ),
    batch: T.Object(
      {
        max_records: T.Integer({ minimum: 1, maximum: 1_000_000, default: 20_000 }),
        max_bytes: T.Integer({ minimum: 4096, maximum: 8 * 1024 * 1024, default: 900 * 1024 }),
        max_wait_ms: T.Integer({ minimum: 0, maximum: 60_000, default: 200 }),
        max_in_flight: T.Integer({ minimum: 1, maximum: 256, default: 4 }),
      },
      { additionalProperties: false, default: {} },
    ),
    logs: T.Array(LogsSourceSchema, { default: [] }),
  },
  { additionalProperties: false },
)
export type AgentConfig = Static<typeof AgentConfigSchema>
