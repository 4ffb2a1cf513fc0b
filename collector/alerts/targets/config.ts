import { type Static, Type as T } from "@sinclair/typebox"
import { Value } from "@sinclair/typebox/value"
import { describeProblems } from "../../../shared/config/problems.ts"
import { ConfigError } from "../../../shared/errors.ts"
import { createDingTalkTarget, DINGTALK_URL, type DingTalkOptions } from "./dingtalk.ts"
import { dingTalkBucket, slackBucket, type TokenBucket, webhookBucket } from "./rate-limit.ts"
import { readSecret } from "./secret.ts"
import { createSlackTarget } from "./slack.ts"
import type { ChatTarget } from "./types.ts"
import { createWebhookTarget } from "./webhook.ts"

// `[[alerts.targets]]`: where alerts are posted. One table per target, tagged by `type`.

const httpUrl = (what: string) =>
  T.String({ pattern: "^https?://[^\\s]+$", description: `an http:// or https:// URL, ${what}` })
const path = (what: string) => T.String({ minLength: 1, description: `a path to a file holding ${what}` })
const common = {
  name: T.String({
    pattern: "^[A-Za-z0-9_.-]+$",
    description: "a name of letters, digits, '.', '_' and '-', unique among the targets",
  }),
  proxy: T.Optional(httpUrl("an HTTP proxy for this target; without it HTTP_PROXY/HTTPS_PROXY apply")),
  timeout_s: T.Integer({ minimum: 1, maximum: 300, default: 10, description: "seconds per send (1-300)" }),
}

const DingTalkTargetSchema = T.Object(
  {
    type: T.Literal("dingtalk"),
    ...common,
    url: T.String({ ...httpUrl("the robot endpoint"), default: DINGTALK_URL }),
    access_token: T.Optional(T.String({ minLength: 1, description: "the robot's access_token" })),
    access_token_file: T.Optional(path("the robot's access_token")),
    secret: T.Optional(T.String({ minLength: 1, description: "the robot's signing secret (SEC...)" })),
    secret_file: T.Optional(path("the robot's signing secret")),
    keyword: T.Optional(T.String({ minLength: 1, description: "the robot's security keyword" })),
  },
  { additionalProperties: false },
)
const SlackTargetSchema = T.Object(
  { type: T.Literal("slack"), ...common, url: httpUrl("the incoming webhook URL") },
  { additionalProperties: false },
)
const WebhookTargetSchema = T.Object(
  {
    type: T.Literal("webhook"),
    ...common,
    url: httpUrl("where the JSON is POSTed"),
    headers: T.Optional(
      T.Record(T.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" }), T.String(), {
        additionalProperties: false,
        description: "a table of header names and values sent with every request, e.g. Authorization",
      }),
    ),
    per_minute: T.Integer({ minimum: 1, maximum: 6000, default: 60, description: "sends a minute (1-6000)" }),
  },
  { additionalProperties: false },
)

/** One `[[alerts.targets]]` table; the integrator puts `T.Array(AlertTargetSchema, { default: [] })` in `[alerts]`. */
export const AlertTargetSchema = T.Union([DingTalkTargetSchema, SlackTargetSchema, WebhookTargetSchema], {
  description:
    'a target table, one of: { type = "dingtalk", name, access_token | access_token_file, secret | secret_file, keyword } | { type = "slack", name, url } | { type = "webhook", name, url, headers }',
})
export type AlertTargetConfig = Static<typeof AlertTargetSchema>
export type DingTalkTargetConfig = Static<typeof DingTalkTargetSchema>
export type SlackTargetConfig = Static<typeof SlackTargetSchema>
export type WebhookTargetConfig = Static<typeof WebhookTargetSchema>

const BY_TYPE = { dingtalk: DingTalkTargetSchema, slack: SlackTargetSchema, webhook: WebhookTargetSchema }

/**
 * The problems of `[[alerts.targets]]` tables one by one, each against the schema of its `type`: where a union
 * can only say "expected union value", this names the field (`alerts.targets[ops].acess_token: unknown field
 * (did you mean 'access_token'?)`). `targets` is the array as parsed, after `${NAME}` interpolation.
 */
export function alertTargetProblems(targets: unknown, at = "alerts.targets"): string[] {
  if (!Array.isArray(targets)) return [`${at}: expected an array of tables ([[alerts.targets]])`]
  return targets.flatMap((item, i) => {
    const type = (item as { type?: unknown } | null)?.type
    const field = `${at}[${typeof (item as { name?: unknown })?.name === "string" ? (item as { name: string }).name : i}]`
    const schema = typeof type === "string" ? BY_TYPE[type as keyof typeof BY_TYPE] : undefined
    if (schema === undefined) {
      return [
        `${field}.type: expected one of ${Object.keys(BY_TYPE)
          .map((t) => JSON.stringify(t))
          .join(", ")}`,
      ]
    }
    const value = Value.Default(schema, Value.Clone(item))
    const problems = describeProblems(schema, value, Value.Errors(schema, value)).map((p) => `${field}.${p}`)
    return [...new Set(problems)]
  })
}

/** How createTarget builds. */
export type CreateTargetOptions = {
  /** the clock of signing and throttles; default Date.now */
  now?: () => number
  /** the table as problems name it; default `alerts.targets[<name>]` */
  field?: string
}

/**
 * The ChatTarget a validated `[[alerts.targets]]` table describes, with its `*_file` secrets read. Every problem
 * (a secret both inline and in a file, or in neither; a file that cannot be read) is in one ConfigError.
 */
export function createTarget(config: AlertTargetConfig, options: CreateTargetOptions = {}): ChatTarget {
  const field = options.field ?? `alerts.targets[${config.name}]`
  const problems: string[] = []
  for (const key of ["url", "proxy"] as const) {
    const value = config[key]
    if (value !== undefined && !URL.canParse(value)) problems.push(`${field}.${key}: not a valid URL`)
  }
  const base = {
    name: config.name,
    proxy: config.proxy,
    timeoutMs: config.timeout_s * 1000,
    now: options.now,
  }
  if (config.type === "slack" && problems.length === 0) return createSlackTarget({ ...base, url: config.url })
  if (config.type === "webhook" && problems.length === 0) {
    return createWebhookTarget({ ...base, url: config.url, headers: config.headers })
  }
  let dingtalk: DingTalkOptions | undefined
  if (config.type === "dingtalk" && problems.length === 0) dingtalk = dingTalkOptions(config, field, problems)
  if (dingtalk === undefined || problems.length > 0) {
    const head = problems.length === 1 ? `${problems[0]}` : `${field}: ${problems.length} problems`
    throw new ConfigError("config_invalid", head, { details: problems.length === 1 ? [] : problems })
  }
  return createDingTalkTarget({ ...base, ...dingtalk })
}

/** The token (on its own, in its file, or in the URL as DingTalk shows it) and the secret of a robot. */
function dingTalkOptions(config: DingTalkTargetConfig, field: string, problems: string[]) {
  const url = new URL(config.url)
  const inUrl = url.searchParams.get("access_token") ?? undefined
  url.searchParams.delete("access_token")
  const given = readSecret(problems, field, "access_token", config.access_token, config.access_token_file)
  if (inUrl !== undefined && given !== undefined) {
    problems.push(`${field}.url carries an access_token; drop it from the URL or drop access_token(_file)`)
  } else if (inUrl === undefined && given === undefined && problems.length === 0) {
    problems.push(`${field}: set access_token or access_token_file (the robot's token)`)
  }
  const secret = readSecret(problems, field, "secret", config.secret, config.secret_file)
  const accessToken = given ?? inUrl
  if (accessToken === undefined) return undefined
  return { name: config.name, url: url.href, accessToken, secret, keyword: config.keyword }
}

/** The send budget of a target, as its service documents it (see rate-limit.ts), full at `now`. */
export function createTargetBudget(config: AlertTargetConfig, now: number): TokenBucket {
  if (config.type === "dingtalk") return dingTalkBucket(now)
  if (config.type === "slack") return slackBucket(now)
  return webhookBucket(config.per_minute, now)
}

/** One problem per target name used more than once (names key deliveries and /status). */
export function targetNameProblems(targets: readonly AlertTargetConfig[]): string[] {
  const seen = new Map<string, number>()
  for (const t of targets) seen.set(t.name, (seen.get(t.name) ?? 0) + 1)
  return [...seen]
    .filter(([, n]) => n > 1)
    .map(([name, n]) => `alerts.targets[${name}]: ${n} targets are named '${name}'; names must be unique`)
}
