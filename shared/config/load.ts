import { readFileSync } from "node:fs"
import type { Static, TSchema } from "@sinclair/typebox"
import { Value } from "@sinclair/typebox/value"
import { ConfigError } from "../errors.ts"

/** Parses a JSON or TOML config file (by extension) and validates it; every problem is reported at once. */
export function loadConfigFile<S extends TSchema>(path: string, schema: S): Static<S> {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (cause) {
    throw new ConfigError(
      "config_unreadable",
      `cannot read config file ${path}: ${(cause as Error).message}`,
      {
        cause,
      },
    )
  }
  let raw: unknown
  try {
    raw = path.endsWith(".toml") ? Bun.TOML.parse(text) : JSON.parse(text)
  } catch (cause) {
    throw new ConfigError(
      "config_syntax",
      `config file ${path} is not valid ${path.endsWith(".toml") ? "TOML" : "JSON"}: ${(cause as Error).message}`,
      { cause },
    )
  }
  return parseConfig(raw, schema, path)
}

/** Validates an already-parsed config value, filling defaults from the schema. */
export function parseConfig<S extends TSchema>(raw: unknown, schema: S, origin = "config"): Static<S> {
  const value = Value.Default(schema, Value.Clone(raw))
  const problems = [...Value.Errors(schema, value)].map(describeProblem)
  if (problems.length > 0) {
    const unique = [...new Set(problems)]
    throw new ConfigError("config_invalid", `invalid ${origin}:\n${unique.map((p) => `  ${p}`).join("\n")}`)
  }
  return value as Static<S>
}

type ValueProblem = { path: string; message: string; schema: TSchema; value: unknown }

function describeProblem(error: ValueProblem): string {
  const path = error.path === "" ? "(root)" : error.path.slice(1).replaceAll("/", ".")
  const expected = expectedForm(error.schema)
  if (error.message.includes("Unexpected property")) return `${path}: unknown field`
  if (error.value === undefined)
    return `${path}: required field is missing${expected ? ` (expected ${expected})` : ""}`
  return `${path}: ${error.message.toLowerCase()}${expected ? ` (expected ${expected})` : ""}`
}

function expectedForm(schema: TSchema): string {
  if (typeof schema.description === "string") return schema.description
  if (Array.isArray(schema.anyOf)) {
    const consts = schema.anyOf.map((s: TSchema) => s.const).filter((c: unknown) => c !== undefined)
    if (consts.length > 0) return `one of ${consts.map((c: unknown) => JSON.stringify(c)).join(", ")}`
  }
  const parts: string[] = []
  if (schema.type) parts.push(String(schema.type))
  if (schema.minimum !== undefined) parts.push(`>= ${schema.minimum}`)
  if (schema.maximum !== undefined) parts.push(`<= ${schema.maximum}`)
  if (schema.pattern) parts.push(`matching ${schema.pattern}`)
  return parts.join(" ")
}
