import { type Static, Type as T } from "@sinclair/typebox"
import {
  CollectorNatsAuthSchema,
  LocalNatsTlsSchema,
  NatsTlsSchema,
} from "../../shared/config/nats-schema.ts"
import { AlertsConfigSchema } from "../alerts/config.ts"
import { UrlsConfigSchema } from "../kinds/urls/schema.ts"
import { HttpConfigSchema, SqlConfigSchema } from "./http-schema.ts"

export const CollectorConfigSchema = T.Object(
  {
    data_dir: T.String({
      minLength: 1,
      description: "a directory path (DuckDB file and the local NATS store live here)",
    }),
    duckdb_file: T.String({ minLength: 1, default: "outpost.duckdb", description: "a file name or path" }),
    enrolled_keys: T.String({
      minLength: 1,
      description: "a file of public key lines or a directory of *.pub files",
    }),
    duckdb_memory_limit_mb: T.Integer({ minimum: 64, maximum: 1024 * 1024, default: 1024 }),
    max_envelope_bytes: T.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 8 * 1024 * 1024 }),
    nats: T.Object(
      {
        url: T.Optional(T.String({ pattern: "^(nats|tls)://", description: "a nats:// or tls:// URL" })),
        local_host: T.String({ default: "127.0.0.1" }),
        local_port: T.Integer({ minimum: 1, maximum: 65535, default: 4222 }),
        local_max_payload_bytes: T.Integer({
          minimum: 1024,
          maximum: 64 * 1024 * 1024,
          default: 8 * 1024 * 1024,
        }),
        auth: CollectorNatsAuthSchema,
        tls: T.Optional(NatsTlsSchema),
        local_tls: T.Optional(LocalNatsTlsSchema),
      },
      { additionalProperties: false, default: {} },
    ),
    stream: T.Object(
      {
        name: T.String({ pattern: "^[A-Za-z0-9_-]+$", default: "OUTPOST" }),
        subjects: T.Array(T.String({ minLength: 1 }), { minItems: 1, default: ["outpost.>"] }),
        max_age_s: T.Integer({ minimum: 0, default: 7 * 86400 }),
        max_bytes: T.Integer({ minimum: -1, default: 10 * 1024 ** 3 }),
        duplicate_window_s: T.Integer({ minimum: 1, default: 600 }),
        discard: T.Union([T.Literal("old"), T.Literal("new")], { default: "old" }),
        replicas: T.Integer({ minimum: 1, maximum: 5, default: 1 }),
      },
      { additionalProperties: false, default: {} },
    ),
    quarantine: T.Object(
      {
        stream: T.String({ pattern: "^[A-Za-z0-9_-]+$", default: "OUTPOST_QUARANTINE" }),
        subject_root: T.String({ pattern: "^[A-Za-z0-9_-]+$", default: "outpost-quarantine" }),
        max_bytes: T.Integer({ minimum: 1024 * 1024, default: 1024 ** 3 }),
        max_age_s: T.Integer({ minimum: 0, default: 30 * 86400 }),
      },
      { additionalProperties: false, default: {} },
    ),
    consumer: T.Object(
      {
        durable_name: T.String({ pattern: "^[A-Za-z0-9_-]+$", default: "collector" }),
        filter_subject: T.String({ minLength: 1, default: "outpost.>" }),
        max_ack_pending: T.Integer({ minimum: 1, maximum: 100_000, default: 2048 }),
        // Short, because held messages are kept alive with working(): after a crash they come back this soon.
        ack_wait_s: T.Integer({ minimum: 1, maximum: 3600, default: 5 }),
        // Large by count (a DuckDB transaction costs ~15 ms whatever its size), bounded by bytes.
        batch_max_messages: T.Integer({ minimum: 1, maximum: 10_000, default: 1024 }),
        batch_max_bytes: T.Integer({ minimum: 1024 * 1024, maximum: 1024 ** 3, default: 32 * 1024 * 1024 }),
        batch_max_wait_ms: T.Integer({ minimum: 0, maximum: 60_000, default: 50 }),
        pull_max_bytes: T.Integer({ minimum: 1024 * 1024, maximum: 1024 ** 3, default: 32 * 1024 * 1024 }),
      },
      { additionalProperties: false, default: {} },
    ),
    http: HttpConfigSchema,
    sql: SqlConfigSchema,
    /** URL check state thresholds ([urls]) */
    urls: UrlsConfigSchema,
    /** rules, grouping and chat targets ([alerts]); no target: no alerting */
    alerts: AlertsConfigSchema,
  },
  { additionalProperties: false },
)
export type CollectorConfig = Static<typeof CollectorConfigSchema>
