import { hostname } from "node:os"
import { type Static, Type as T } from "@sinclair/typebox"
import { AgentNatsAuthSchema, NatsTlsSchema } from "../../shared/config/nats-schema.ts"
import { AGENT_ID_PATTERN } from "../../shared/protocol/keys.ts"
import { OutboxConfigSchema } from "../outbox/schema.ts"
import { PreviewConfigSchema } from "../preview/schema.ts"
import { HeartbeatConfigSchema } from "../sources/heartbeats/index.ts"
import { UrlCheckSchema } from "../sources/urls/schema.ts"

/** Longest agent id (AGENT_ID_PATTERN). */
const AGENT_ID_MAX = 64

/**
 * An agent id from a host name: lowercased, every character an id may not hold (dots of an FQDN, too) replaced
 * by '-', cut to the allowed length; so one config file can serve a fleet, each host under its own name.
 */
export function agentIdFromHostname(name: string = hostname()): string {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "-")
    .slice(0, AGENT_ID_MAX)
  return AGENT_ID_PATTERN.test(id) ? id : "agent"
}

/** The agent's local HTTP server: /health, /metrics, / (files being read), and later the alert preview page. */
export const AgentHttpSchema = T.Object(
  {
    enabled: T.Boolean({ default: true, description: "true or false" }),
    host: T.String({
      minLength: 1,
      default: "127.0.0.1",
      description: "an address to listen on, e.g. 127.0.0.1 (this host only) or 0.0.0.0 (every interface)",
    }),
    port: T.Integer({
      minimum: 0,
      maximum: 65535,
      default: 4406,
      description: "a TCP port, 0-65535 (0: any free port)",
    }),
  },
  { additionalProperties: false, default: {} },
)
export type AgentHttpConfig = Static<typeof AgentHttpSchema>

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
    agent_id: T.String({
      pattern: AGENT_ID_PATTERN.source,
      // computed once, when this module loads: the host name as an id
      default: agentIdFromHostname(),
      description:
        "1-64 letters, digits, '_' or '-' (default: the host name, lowercased, other characters as '-')",
    }),
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
    http: AgentHttpSchema,
    logs: T.Array(LogsSourceSchema, { default: [] }),
    /** URL checks ([[urls]]): results go through the outbox */
    urls: T.Array(UrlCheckSchema, { default: [] }),
    /** the durable queue of entries that exist only in memory (URL results); see agent/outbox/ */
    outbox: OutboxConfigSchema,
    /** the agent's heartbeat (`heartbeats` kind, through the outbox) */
    heartbeat: HeartbeatConfigSchema,
    /** the page behind the links in chat alerts; see agent/preview/ */
    preview: PreviewConfigSchema,
  },
  { additionalProperties: false },
)
export type AgentConfig = Static<typeof AgentConfigSchema>
