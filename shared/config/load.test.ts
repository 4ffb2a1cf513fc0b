// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} in plain strings is the config syntax under test
import { describe, expect, test } from "bun:test"
import { Type as T } from "@sinclair/typebox"
import { ConfigError } from "../errors.ts"
import { interpolate } from "./interpolate.ts"
import { parseConfig } from "./load.ts"
import { nearest } from "./problems.ts"

const Schema = T.Object(
  {
    data_dir: T.String(),
    port: T.Integer({ minimum: 1, maximum: 65535, default: 80 }),
    logs: T.Array(
      T.Object(
        { name: T.String(), mode: T.Union([T.Literal("all"), T.Literal("match")], { default: "all" }) },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
  },
  { additionalProperties: false },
)

const problemsOf = (raw: unknown, env: Record<string, string> = {}) => {
  try {
    parseConfig(raw, Schema, "f.toml", { env })
    return []
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return error.details.length > 0 ? [...error.details] : [error.headline.replace("f.toml: ", "")]
  }
}

describe("config problems name the field as written", () => {
  test("array items by their name; unknown fields with the nearest known one", () => {
    expect(
      problemsOf({
        data_dir: "/d",
        logs: [
          { name: "app-errors", mode: "some" },
          { name: "web", mod: "all" },
        ],
      }),
    ).toEqual([
      'logs[app-errors].mode: expected union value (expected one of "all", "match")',
      "logs[web].mod: unknown field (did you mean 'mode'?)",
    ])
    expect(problemsOf({ data_dir: "/d", dataa_dir: 1 })).toEqual([
      "dataa_dir: unknown field (did you mean 'data_dir'?)",
    ])
    expect(problemsOf({ data_dir: "/d", zzz: 1 })).toEqual([
      "zzz: unknown field (known: data_dir, port, logs)",
    ])
  })

  test("nearest: typos and separators, nothing for a word far from all", () => {
    expect(nearest("max-line-bytes", ["max_line_bytes", "mode"])).toBe("max_line_bytes")
    expect(nearest("stat_dir", ["state_dir", "host"])).toBe("state_dir")
    expect(nearest("colour", ["state_dir", "host"])).toBeUndefined()
  })
})

describe("environment interpolation", () => {
  test("${NAME}, ${NAME:-default}, $$ and numbers from the environment", () => {
    const config = parseConfig({ data_dir: "${BASE}/data-$$1", port: "${PORT:-8080}" }, Schema, "f", {
      env: { BASE: "/srv" },
    })
    expect(config).toEqual({ data_dir: "/srv/data-$1", port: 8080, logs: [] })
    expect(parseConfig({ data_dir: "/d", port: "${PORT}" }, Schema, "f", { env: { PORT: "9" } }).port).toBe(9)
  })

  test("an unset variable without default is a problem naming field and variable, never an empty string", () => {
    expect(problemsOf({ data_dir: "${NOPE}", logs: [{ name: "w", mode: "${MODE}" }] })).toEqual([
      "data_dir: environment variable NOPE is not set (write ${NOPE:-default} for a default)",
      "logs[w].mode: environment variable MODE is not set (write ${MODE:-default} for a default)",
    ])
    expect(interpolate({ a: "${EMPTY:-x}" }, { EMPTY: "" }).value).toEqual({ a: "x" })
  })
})
