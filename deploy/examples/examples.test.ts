import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { TSchema } from "@sinclair/typebox"
import { AgentConfigSchema } from "../../agent/config/schema.ts"
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
