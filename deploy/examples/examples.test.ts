import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { TSchema } from "@sinclair/typebox"
import { checkAgentConfig } from "../../agent/config/checks.ts"
import { type AgentConfig, AgentConfigSchema } from "../../agent/config/schema.ts"
import { compileRules } from "../../agent/sources/logs/rules.ts"
import { CollectorConfigSchema } from "../../collector/config/schema.ts"
import { loadConfigFile } from "../../shared/config/load.ts"

type Field = { path: string; key: string; schema: TSchema }

/** Every field of an object schema, depth first; the fields of an array's objects count as fields. */
function fields(schema: TSchema, prefix = ""): Field[] {
  const out: Field[] = []
  for (const [key, child] of Object.entries((schema.properties ?? {}) as Record<string, TSchema>)) {
    const path = prefix ? `${prefix}.${key}` : key
    out.push({ path, key, schema: child })
    if (child.type === "object") out.push(...fields(child, path))
    if (child.type === "array" && child.items?.type === "object") out.push(...fields(child.items, path))
  }
  return out
}

/** Values the example sets that differ from the schema default (for arrays of tables: the first table). */
function nonDefaults(schema: TSchema, value: Record<string, unknown>, prefix = ""): string[] {
  const out: string[] = []
  for (const [key, child] of Object.entries((schema.properties ?? {}) as Record<string, TSchema>)) {
    const path = prefix ? `${prefix}.${key}` : key
    const v = value[key]
    if (v === undefined) continue
    if (child.type === "object") out.push(...nonDefaults(child, v as Record<string, unknown>, path))
    else if (child.type === "array" && child.items?.type === "object") {
      const first = (v as Record<string, unknown>[])[0]
      if (first) out.push(...nonDefaults(child.items, first, `${path}[0]`))
    } else if (child.default !== undefined && !Bun.deepEquals(v, child.default)) {
      out.push(`${path} = ${JSON.stringify(v)}, default ${JSON.stringify(child.default)}`)
    }
  }
  return out
}

const examples = [
  { file: "agent.toml", schema: AgentConfigSchema },
  { file: "collector.toml", schema: CollectorConfigSchema },
]

describe.each(examples)("deploy/examples/$file", ({ file, schema }) => {
  const path = join(import.meta.dir, file)
  const text = readFileSync(path, "utf8")

  test("is valid against the schema", () => {
    expect(() => loadConfigFile(path, schema)).not.toThrow()
  })

  test("mentions every field (set or commented out)", () => {
    const missing = fields(schema)
      .filter(
        ({ key }) =>
          !new RegExp(`^\\s*(#\\s*)?(${key}\\s*=|\\[\\[?([\\w.]+\\.)?${key}\\]\\]?)`, "m").test(text),
      )
      .map((f) => f.path)
    expect(missing).toEqual([])
  })

  test("shows the defaults", () => {
    expect(nonDefaults(schema, Bun.TOML.parse(text) as Record<string, unknown>)).toEqual([])
  })
})

describe("deploy/examples/agent.toml sources", () => {
  const config = loadConfigFile(join(import.meta.dir, "agent.toml"), AgentConfigSchema) as AgentConfig

  test("passes the agent's cross-field checks (sizes, rules)", () => {
    expect(() => checkAgentConfig(config, "agent.toml")).not.toThrow()
  })

  test("the first source tails files of a default Debian 12 host, not rsyslog's", () => {
    const paths = config.logs[0]?.paths ?? []
    expect(paths).toContain("/var/log/dpkg.log")
    expect(paths.filter((p) => /\/var\/log\/(syslog|messages|auth\.log)$/.test(p))).toEqual([])
  })

  const nginx = config.logs.find((s) => s.name === "nginx-errors")
  const rules = compileRules("nginx-errors", nginx?.rules ?? [])
  /** The rule the line matches, or null. */
  const ruleOf = (line: string) => {
    const buf = Buffer.from(`${line}\n`)
    return rules.find(buf, 0, buf.length)[0]?.rule ?? null
  }

  test.each([
    ["error.log error", "2026/12/02 07:27:19 [error] 812#812: *1 open() failed (2: No such file)", "error"],
    [
      "error.log crit",
      "2026/12/02 07:27:19 [crit] 812#812: *3 connect() to unix:/run/php.sock failed",
      "error",
    ],
    ["error.log notice", "2026/12/02 07:27:19 [notice] 812#812: signal process started", null],
    [
      "access 502",
      '203.0.113.7 - - [02/Dec/2026:07:27:19 +0000] "GET /api HTTP/1.1" 502 157 "-" "curl/7.88"',
      "server-error",
    ],
    [
      "access 200",
      '203.0.113.7 - - [02/Dec/2026:07:27:19 +0000] "GET / HTTP/1.1" 200 512 "-" "curl/7.88"',
      null,
    ],
    [
      "access 404, 5xx bytes",
      '203.0.113.7 - - [02/Dec/2026:07:27:19 +0000] "GET /x HTTP/1.1" 404 503 "-" "-"',
      null,
    ],
  ])("nginx-errors: %s", (_, line, rule) => {
    expect(nginx?.mode).toBe("match")
    expect(ruleOf(line)).toBe(rule)
  })
})
