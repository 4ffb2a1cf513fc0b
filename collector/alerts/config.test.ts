import { describe, expect, test } from "bun:test"
import { parseConfig } from "../../shared/config/index.ts"
import { AlertsConfigSchema, alertsConfigProblems } from "./config.ts"

const alerts = (raw: Record<string, unknown>) => parseConfig(raw, AlertsConfigSchema)

describe("[alerts]", () => {
  test("defaults: no target, agent_offline, log_match and rejected_envelopes rules, Alertmanager's timing", () => {
    const c = alerts({})
    expect(c.targets).toEqual([])
    expect(c.rules.map((r) => [r.name, r.when, r.group_by])).toEqual([
      ["agent_offline", "agent_offline", ["agent"]],
      ["log_match", "log_match", ["agent", "rule"]],
      ["rejected_envelopes", "rejected_envelopes", ["reason"]],
    ])
    expect([c.group_wait_s, c.group_interval_s, c.repeat_interval_s, c.agent_offline_after_s]).toEqual([
      30, 300, 14400, 60,
    ])
    expect(alertsConfigProblems(c)).toEqual([])
  })

  test("a rule naming a target that does not exist, and a repeat shorter than the interval, are named", () => {
    const c = alerts({
      targets: [{ name: "ops", type: "webhook", url: "http://127.0.0.1:1/hook" }],
      rules: [{ name: "down", when: "agent_offline", targets: ["ops", "opz"] }],
      group_interval_s: 600,
      repeat_interval_s: 60,
    })
    expect(alertsConfigProblems(c)).toEqual([
      "alerts.rules[0].targets: no target named 'opz' in alerts.targets",
      "alerts.repeat_interval_s: 60 is shorter than group_interval_s 600",
    ])
  })

  test("an unknown 'when' is refused by the schema", () => {
    expect(() => alerts({ rules: [{ name: "x", when: "sometimes" }] })).toThrow(/rules/)
  })
})
