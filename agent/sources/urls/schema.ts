import { type Static, Type as T } from "@sinclair/typebox"
import { AGENT_ID_PATTERN } from "../../../shared/protocol/keys.ts"

/** Body conditions look at most this much of a response (the rest is read and counted, not kept). */
export const MAX_BODY_BYTES = 1024 * 1024

const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const

/**
 * One `[[urls]]` check: an HTTP(S) request judged by its status, body, latency and certificate, or (type = "tcp")
 * a TCP connect to host:port. Run every `period_s` by each agent listed in `agents` (default: every agent).
 */
export const UrlCheckSchema = T.Object(
  {
    name: T.Optional(
      T.String({
        pattern: "^[^\\x00-\\x1f\\x7f]{1,128}$",
        description: "1-128 printable characters (default: the URL's host and path)",
      }),
    ),
    type: T.Union([T.Literal("http"), T.Literal("tcp")], { default: "http" }),
    url: T.String({
      maxLength: 2048,
      pattern: "^(https?://[^\\s\\x00-\\x1f\\x7f]+|(tcp://)?[^\\s\\x00-\\x1f\\x7f/]+:[0-9]{1,5})$",
      description: 'an http:// or https:// URL (with type = "tcp": host:port)',
    }),
    timeout_s: T.Number({
      exclusiveMinimum: 0,
      maximum: 3600,
      default: 10,
      description: "seconds, above 0, at most 3600",
    }),
    period_s: T.Number({
      minimum: 0.1,
      maximum: 86_400,
      default: 60,
      description: "seconds, 0.1-86400, more than timeout_s",
    }),
    method: T.Union(
      HTTP_METHODS.map((m) => T.Literal(m)),
      { default: "GET" },
    ),
    headers: T.Optional(
      T.Record(T.String(), T.String({ pattern: "^[^\\r\\n]*$", description: "a header value on one line" }), {
        description: 'a table of header names to values, e.g. { Authorization = "Bearer ..." }',
      }),
    ),
    body: T.Optional(T.String({ description: "the request body" })),
    expect_status: T.Array(
      T.Union([T.Integer({ minimum: 100, maximum: 999 }), T.String({ pattern: "^[0-9]{3}(-[0-9]{3})?$" })], {
        description: 'a status code like 200 or a range like "200-399"',
      }),
      { minItems: 1, default: ["200-399"] },
    ),
    body_contains: T.Optional(T.Array(T.String({ minLength: 1 }), { description: "a list of substrings" })),
    body_regex: T.Optional(
      T.Array(T.String({ minLength: 1 }), { description: "a list of JavaScript regular expressions" }),
    ),
    json_path_equals: T.Optional(
      T.Record(T.String(), T.Union([T.String(), T.Number(), T.Boolean()]), {
        description: 'a table of JSON paths to expected values, e.g. { "data[0].id" = 1, status = "ok" }',
      }),
    ),
    max_latency_ms: T.Optional(T.Number({ exclusiveMinimum: 0, description: "milliseconds, above 0" })),
    cert_expiry_warn_days: T.Number({ minimum: 0, maximum: 3650, default: 14, description: "days, 0-3650" }),
    follow_redirects: T.Boolean({ default: true }),
    max_redirects: T.Integer({ minimum: 0, maximum: 20, default: 5 }),
    ca_file: T.Optional(
      T.String({
        minLength: 1,
        description: "a path to PEM CA certificate(s) trusted for this check instead of the system's",
      }),
    ),
    agents: T.Optional(
      T.Array(T.String({ pattern: AGENT_ID_PATTERN.source, description: "an agent id" }), {
        minItems: 1,
        description: "a non-empty list of agent ids (default: every agent)",
      }),
    ),
  },
  { additionalProperties: false },
)
export type UrlCheckConfig = Static<typeof UrlCheckSchema>

/**
 * The name of a check: its own, or one made of its URL's host and path (`https://example.com/health?x=1` ->
 * `example.com/health`, `tcp://db:5432` -> `db:5432`), cut to 128 characters.
 */
export function urlCheckName(check: Pick<UrlCheckConfig, "name" | "url">): string {
  if (check.name !== undefined) return check.name
  const plain = check.url.replace(/^[a-z]+:\/\//i, "")
  const cut = plain.search(/[?#]/)
  const head = cut === -1 ? plain : plain.slice(0, cut)
  const name = head.replace(/\/+$/, "").replace(/\s/g, "-")
  return (name || check.url).slice(0, 128)
}

/** Whether this agent runs the check: `agents` unset, or listing it. */
export const runsOn = (check: Pick<UrlCheckConfig, "agents">, agentId: string): boolean =>
  check.agents === undefined || check.agents.includes(agentId)
