import { expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { createAgentMetrics } from "../../agent/metrics/agent-metrics.ts"
import { createCollectorMetrics } from "../../collector/metrics/collector-metrics.ts"
import { PROMTOOL, promtool, warnIfNoPromtool } from "../../test/harness/index.ts"

const dir = import.meta.dir
const rules = join(dir, "outpost.rules.yml")

warnIfNoPromtool("promtool check rules / test rules on deploy/prometheus")

test.skipIf(!PROMTOOL)("the example alert rules are valid (promtool check rules)", async () => {
  const result = await promtool(["check", "rules", rules])
  expect(result.output).toContain("SUCCESS: 8 rules found")
  expect(result.code).toBe(0)
})

test.skipIf(!PROMTOOL)("the alerts fire when they should and only then (promtool test rules)", async () => {
  const result = await promtool(["test", "rules", join(dir, "outpost.rules.test.yml")])
  expect(result.output).toContain("SUCCESS")
  expect(result.code).toBe(0)
})

test("every metric the rules use is one the collector exports", () => {
  const used = new Set(readFileSync(rules, "utf8").match(/\boutpost_collector_[a-z_]+/g))
  const exported = createCollectorMetrics().registry.render()
  expect(used.size).toBeGreaterThan(5)
  for (const name of used) expect(`${name}: ${exported.includes(`# TYPE ${name} `)}`).toBe(`${name}: true`)
})

test("every metric the rules use is one the agent exports", () => {
  const used = new Set(readFileSync(rules, "utf8").match(/\boutpost_agent_[a-z_]+/g))
  const exported = createAgentMetrics(["app"], ["site"]).render({ files: [], queuedBytes: 0, inFlight: 0 })
  expect(used.size).toBeGreaterThan(0)
  for (const name of used) expect(`${name}: ${exported.includes(`# TYPE ${name} `)}`).toBe(`${name}: true`)
})
