import { describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Type as T } from "@sinclair/typebox"
import { parse as parseToml } from "smol-toml"
import { parseConfig } from "../../../shared/config/load.ts"
import { ConfigError } from "../../../shared/errors.ts"
import { tempDir } from "../../../test/harness/temp-dir.ts"
import {
  type AlertTargetConfig,
  AlertTargetSchema,
  alertTargetProblems,
  createTarget,
  createTargetBudget,
  targetNameProblems,
} from "./config.ts"

// as the integrator will plug it in
const Schema = T.Object(
  {
    alerts: T.Object(
      { targets: T.Array(AlertTargetSchema, { default: [] }) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)
const parse = (toml: string) =>
  parseConfig(parseToml(toml), Schema, "outpost.toml", {
    env: { SLACK_URL: "https://hooks.slack.com/services/T/B/X" },
  }).alerts.targets

describe("[[alerts.targets]] schema", () => {
  test("each type with its defaults", () => {
    const targets = parse(`
[[alerts.targets]]
type = "dingtalk"
name = "ops-ding"
access_token = "tok"
secret = "SEC000test"
keyword = "告警"

[[alerts.targets]]
type = "slack"
name = "ops-slack"
url = "\${SLACK_URL}"
proxy = "http://proxy.internal:3128"

[[alerts.targets]]
type = "webhook"
name = "hooks"
url = "https://example.net/alerts"
headers = { Authorization = "Bearer x" }
timeout_s = 3
`)
    expect(targets).toEqual([
      {
        type: "dingtalk",
        name: "ops-ding",
        url: "https://oapi.dingtalk.com/robot/send",
        access_token: "tok",
        secret: "SEC000test",
        keyword: "告警",
        timeout_s: 10,
      },
      {
        type: "slack",
        name: "ops-slack",
        url: "https://hooks.slack.com/services/T/B/X",
        proxy: "http://proxy.internal:3128",
        timeout_s: 10,
      },
      {
        type: "webhook",
        name: "hooks",
        url: "https://example.net/alerts",
        headers: { Authorization: "Bearer x" },
        timeout_s: 3,
        per_minute: 60,
      },
    ])
  })

  test.each([
    [
      "an unknown type",
      '[[alerts.targets]]\ntype = "teams"\nname = "x"\nurl = "https://x"',
      "alerts.targets[x]",
    ],
    [
      "a URL that is not http",
      '[[alerts.targets]]\ntype = "slack"\nname = "x"\nurl = "ftp://x"',
      "alerts.targets[x]",
    ],
    [
      "a bad header name",
      '[[alerts.targets]]\ntype = "webhook"\nname = "x"\nurl = "https://x"\nheaders = { "a b" = "1" }',
      "alerts.targets[x]",
    ],
    [
      "timeout_s of 0",
      '[[alerts.targets]]\ntype = "slack"\nname = "x"\nurl = "https://x"\ntimeout_s = 0',
      "alerts.targets[x]",
    ],
  ])("%s is a problem naming the target", (_, toml, field) => {
    expect(() => parse(toml)).toThrow(field)
  })
})

describe("createTarget", () => {
  const ding = (extra: Partial<AlertTargetConfig>): AlertTargetConfig =>
    ({
      type: "dingtalk",
      name: "ding",
      url: "https://oapi.dingtalk.com/robot/send",
      timeout_s: 10,
      ...extra,
    }) as AlertTargetConfig

  test("secrets from files, trimmed", async () => {
    await using dir = tempDir()
    writeFileSync(join(dir.path, "token"), "tok\n")
    writeFileSync(join(dir.path, "secret"), "SEC000test\n")
    const t = createTarget(
      ding({ access_token_file: join(dir.path, "token"), secret_file: join(dir.path, "secret") }),
    )
    expect(t).toMatchObject({ name: "ding", type: "dingtalk", maxMessageBytes: 4000 })
  })

  test("a missing file is a ConfigError naming the field", () => {
    const build = () => createTarget(ding({ access_token: "tok", secret_file: "/nonexistent/secret" }))
    expect(build).toThrow(ConfigError)
    expect(build).toThrow("alerts.targets[ding].secret_file: cannot read /nonexistent/secret: no such file")
  })

  test("every problem at once", () => {
    try {
      createTarget(ding({ access_token: "a", access_token_file: "/x", secret_file: "/nonexistent/secret" }))
      throw new Error("no error")
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).details).toEqual([
        "alerts.targets[ding]: access_token and access_token_file are both set; keep one",
        "alerts.targets[ding].secret_file: cannot read /nonexistent/secret: no such file",
      ])
    }
  })

  test.each([
    ["no token anywhere", {}, "set access_token or access_token_file"],
    [
      "a token in the URL and again on its own",
      { url: "https://oapi.dingtalk.com/robot/send?access_token=a", access_token: "b" },
      "carries an access_token",
    ],
  ])("%s", (_, extra, message) => {
    expect(() => createTarget(ding(extra))).toThrow(message)
  })

  test("the token may come in the URL, as DingTalk shows it", () => {
    expect(createTarget(ding({ url: "https://oapi.dingtalk.com/robot/send?access_token=a" })).type).toBe(
      "dingtalk",
    )
  })

  test("budgets by type", () => {
    const now = 0
    expect(createTargetBudget(ding({}), now).remaining(now)).toBe(10)
    expect(
      createTargetBudget({ type: "slack", name: "s", url: "https://x", timeout_s: 10 }, now).remaining(now),
    ).toBe(3)
    const hook = { type: "webhook", name: "w", url: "https://x", timeout_s: 10, per_minute: 6 } as const
    expect(createTargetBudget(hook, now).remaining(now)).toBe(3)
  })

  test("names must be unique", () => {
    const slack = { type: "slack", name: "a", url: "https://x", timeout_s: 10 } as const
    expect(targetNameProblems([slack, { ...slack, name: "b" }])).toEqual([])
    expect(targetNameProblems([slack, slack])).toEqual([
      "alerts.targets[a]: 2 targets are named 'a'; names must be unique",
    ])
  })
})

describe("alertTargetProblems", () => {
  test.each([
    [
      "a misspelt field",
      [{ type: "dingtalk", name: "ops", acess_token: "x" }],
      ["alerts.targets[ops].acess_token: unknown field (did you mean 'access_token'?)"],
    ],
    [
      "an unknown type",
      [{ type: "teams", name: "t" }],
      ['alerts.targets[t].type: expected one of "dingtalk", "slack", "webhook"'],
    ],
    ["a URL that is not http", [{ type: "slack", name: "s", url: "ftp://x" }], ["alerts.targets[s].url: "]],
    ["a missing url", [{ type: "webhook", name: "w" }], ["alerts.targets[w].url: required field is missing"]],
    ["a valid table", [{ type: "slack", name: "s", url: "https://x" }], []],
  ])("%s", (_, targets, expected) => {
    const problems = alertTargetProblems(targets)
    expect(problems).toHaveLength(expected.length)
    expect(problems.map((p, i) => p.startsWith(expected[i] as string))).toEqual(expected.map(() => true))
  })
})

test("a URL the schema's pattern lets through but that does not parse is a ConfigError", () => {
  const build = () => createTarget({ type: "slack", name: "s", url: "http://[oops", timeout_s: 10 })
  expect(build).toThrow("alerts.targets[s].url: not a valid URL")
})
