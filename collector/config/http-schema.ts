import { type Static, Type as T } from "@sinclair/typebox"

/** `[http]`: where the collector listens and who may read from it. */
export const HttpConfigSchema = T.Object(
  {
    host: T.String({
      minLength: 1,
      default: "127.0.0.1",
      description: "an address or name to bind; anything but loopback needs http.token",
    }),
    port: T.Integer({ minimum: 0, maximum: 65535, default: 4480 }),
    token: T.Optional(
      T.String({
        minLength: 16,
        description: "a bearer token of at least 16 characters, required by /sql, /status and /metrics",
      }),
    ),
    token_file: T.Optional(
      T.String({ minLength: 1, description: "a file holding the bearer token (trimmed); instead of token" }),
    ),
    allowed_hosts: T.Array(T.String({ minLength: 1, pattern: "^[^\\s/@]+$" }), {
      default: [],
      description:
        "Host header values accepted besides loopback and http.host: 'name' (any port) or 'name:port'",
    }),
  },
  { additionalProperties: false, default: {} },
)
export type HttpConfig = Static<typeof HttpConfigSchema>

/** `[sql]`: limits of the ad-hoc query endpoint. */
export const SqlConfigSchema = T.Object(
  {
    max_concurrent: T.Integer({
      minimum: 1,
      maximum: 64,
      default: 2,
      description: "queries running at once (1-64)",
    }),
    max_queued: T.Integer({
      minimum: 0,
      maximum: 1000,
      default: 16,
      description: "queries waiting for a free slot before /sql answers 503 (0-1000)",
    }),
    timeout_ms: T.Integer({
      minimum: 100,
      maximum: 3_600_000,
      default: 30_000,
      description: "a query is interrupted after this long; a queued one gives up after this long too",
    }),
    max_result_bytes: T.Integer({
      minimum: 1024,
      maximum: 1024 ** 3,
      default: 16 * 1024 * 1024,
      description: "bytes of JSON rows in one response (1024-1073741824); more is cut and marked truncated",
    }),
    max_query_chars: T.Integer({
      minimum: 100,
      maximum: 10_000_000,
      default: 100_000,
      description: "longest accepted SQL text",
    }),
  },
  { additionalProperties: false, default: {} },
)
export type SqlConfig = Static<typeof SqlConfigSchema>
