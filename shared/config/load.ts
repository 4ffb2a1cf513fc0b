import { readFileSync } from "node:fs"
import { extname } from "node:path"
import type { Static, TSchema } from "@sinclair/typebox"
import { Value } from "@sinclair/typebox/value"
import { parse as parseToml, TomlError } from "smol-toml"
import { ConfigError } from "../errors.ts"
import { type Environment, interpolate } from "./interpolate.ts"
import { describeProblems, schemaAt } from "./problems.ts"

export type LoadOptions = {
  /** where `${NAME}` comes from; default process.env */
  env?: Environment
}

/**
 * Reads a TOML or JSON config file (by extension), replaces `${NAME}` and `${NAME:-default}` in its strings with
 * environment variables, fills defaults and validates it; every problem is reported at once, each naming its field.
 */
export function loadConfigFile<S extends TSchema>(
  path: string,
  schema: S,
  options: LoadOptions = {},
): Static<S> {
  const raw = readConfigFile(path)
  return parseConfig(raw, schema, path, options)
}

/** The parsed file, before interpolation and validation. */
export function readConfigFile(path: string): unknown {
  const format = formatOf(path)
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (cause as Error).message
    throw new ConfigError("config_unreadable", `cannot read config file ${path}: ${why}`, { cause })
  }
  try {
    return format === "toml" ? parseToml(text) : JSON.parse(text)
  } catch (cause) {
    if (cause instanceof TomlError) {
      const what = cause.message.split("\n")[0]?.replace(/^Invalid TOML document: /, "") ?? "invalid TOML"
      throw new ConfigError("config_syntax", `${path}:${cause.line}:${cause.column}: ${what}`, { cause })
    }
    throw new ConfigError("config_syntax", `${path}: not valid JSON: ${(cause as Error).message}`, { cause })
  }
}

function formatOf(path: string): "toml" | "json" {
  const ext = extname(path).toLowerCase()
  if (ext === ".toml") return "toml"
  if (ext === ".json") return "json"
  if (ext === ".yaml" || ext === ".yml") {
    throw new ConfigError(
      "config_format",
      `${path}: YAML is not supported; write the config as TOML (.toml) or JSON (.json): the keys are the same`,
    )
  }
  throw new ConfigError(
    "config_format",
    `${path}: unknown config format '${ext || "(none)"}'; use .toml or .json`,
  )
}

/** Interpolates, fills defaults and validates an already-parsed config value. */
export function parseConfig<S extends TSchema>(
  raw: unknown,
  schema: S,
  origin = "config",
  options: LoadOptions = {},
): Static<S> {
  const { value: interpolated, problems: envProblems, whole } = interpolate(raw, options.env ?? process.env)
  // Environment values are strings: where a value is one reference and the schema wants a number or a boolean,
  // "4480" and "true" become one. Nothing else is converted: `port = "80"` written as text stays an error.
  for (const at of whole) coerce(schema, interpolated, at)
  const value = Value.Default(schema, Value.Clone(interpolated))
  // A field whose variable is unset has one problem, not also the schema's complaint about "${NAME}".
  const unset = new Set(envProblems.map((p) => p.slice(0, p.indexOf(": "))))
  const schemaProblems = describeProblems(schema, value, Value.Errors(schema, value)).filter(
    (p) => !unset.has(p.slice(0, p.indexOf(": "))),
  )
  const problems = [...envProblems, ...schemaProblems]
  if (problems.length > 0) {
    const unique = [...new Set(problems)]
    const head = unique.length === 1 ? `${origin}: ${unique[0]}` : `${origin}: ${unique.length} problems`
    throw new ConfigError("config_invalid", head, { details: unique.length === 1 ? [] : unique })
  }
  return value as Static<S>
}

function coerce(schema: TSchema, root: unknown, at: string[]): void {
  const target = schemaAt(schema, at)
  const parent = at
    .slice(0, -1)
    .reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], root)
  const key = at.at(-1)
  if (!target || key === undefined || parent === null || typeof parent !== "object") return
  const text = (parent as Record<string, unknown>)[key]
  if (typeof text !== "string") return
  const number = Number(text)
  if (
    (target.type === "integer" || target.type === "number") &&
    text.trim() !== "" &&
    Number.isFinite(number)
  ) {
    ;(parent as Record<string, unknown>)[key] = number
  } else if (target.type === "boolean" && (text === "true" || text === "false")) {
    ;(parent as Record<string, unknown>)[key] = text === "true"
  }
}
