import { type Static, Type as T } from "@sinclair/typebox"
import { AlertTargetSchema } from "./targets/index.ts"

/** What raises an alert; more sources (log matches, URL state, rejected envelopes) follow this shape. */
const AlertRuleSchema = T.Object(
  {
    name: T.String({
      pattern: "^[A-Za-z0-9_.-]{1,64}$",
      description: "a rule name: letters, digits, '.', '_', '-'",
    }),
    when: T.Union([T.Literal("agent_offline"), T.Literal("log_match"), T.Literal("rejected_envelopes")], {
      description:
        "what raises it: agent_offline, log_match (a line an agent's rule matched) or rejected_envelopes (forged, malformed or unknown-agent envelopes)",
    }),
    /** only these agents (default: every agent) */
    agents: T.Array(T.String({ minLength: 1 }), { default: [] }),
    /** log_match: only files matching one of these globs (default: every file) */
    files: T.Array(T.String({ minLength: 1 }), { default: [] }),
    /** log_match: only lines these agent rules matched (default: every rule) */
    log_rules: T.Array(T.String({ minLength: 1 }), { default: [] }),
    /** target names (default: every target) */
    targets: T.Array(T.String({ minLength: 1 }), { default: [] }),
    /** labels whose values make a group (agent, host, file, rule); default: agent */
    group_by: T.Array(T.String({ minLength: 1 }), { default: ["agent"] }),
    severity: T.String({ minLength: 1, default: "warning" }),
  },
  { additionalProperties: false },
)
export type AlertRuleConfig = Static<typeof AlertRuleSchema>

const RULE_DEFAULTS = { agents: [], files: [], log_rules: [], targets: [], severity: "warning" }

/** `[alerts]`: rules, grouping as Alertmanager does it, chat targets. No target: no alerting. */
export const AlertsConfigSchema = T.Object(
  {
    targets: T.Array(AlertTargetSchema, { default: [] }),
    rules: T.Array(AlertRuleSchema, {
      default: [
        { ...RULE_DEFAULTS, name: "agent_offline", when: "agent_offline", group_by: ["agent"] },
        { ...RULE_DEFAULTS, name: "log_match", when: "log_match", group_by: ["agent", "rule"] },
        { ...RULE_DEFAULTS, name: "rejected_envelopes", when: "rejected_envelopes", group_by: ["reason"] },
      ],
    }),
    group_wait_s: T.Number({ minimum: 0, maximum: 3600, default: 30 }),
    group_interval_s: T.Number({ minimum: 1, maximum: 86_400, default: 300 }),
    repeat_interval_s: T.Number({ minimum: 1, maximum: 7 * 86_400, default: 4 * 3600 }),
    /** the key that signs preview links (an Ed25519 PEM, e.g. from 'outpost-agent keygen'); none: no links */
    preview_key_file: T.Optional(
      T.String({ minLength: 1, description: "a path to an Ed25519 PEM private key" }),
    ),
    /** how long a preview link in a message opens */
    preview_link_ttl_s: T.Integer({ minimum: 60, maximum: 30 * 86_400, default: 86_400 }),
    /** an agent silent this long (and 3 of its heartbeat intervals) is offline */
    agent_offline_after_s: T.Number({ minimum: 5, maximum: 86_400, default: 60 }),
  },
  { additionalProperties: false, default: {} },
)
export type AlertsConfig = Static<typeof AlertsConfigSchema>

/** Rules naming a target that does not exist, and timing that cannot work, each naming its field. */
export function alertsConfigProblems(config: AlertsConfig): string[] {
  const names = new Set(config.targets.map((t) => t.name))
  const problems: string[] = []
  for (const [i, rule] of config.rules.entries()) {
    for (const t of rule.targets)
      if (!names.has(t)) problems.push(`alerts.rules[${i}].targets: no target named '${t}' in alerts.targets`)
  }
  if (config.repeat_interval_s < config.group_interval_s)
    problems.push(
      `alerts.repeat_interval_s: ${config.repeat_interval_s} is shorter than group_interval_s ${config.group_interval_s}`,
    )
  return problems
}
