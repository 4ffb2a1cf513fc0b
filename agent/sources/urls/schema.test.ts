import { describe, expect, test } from "bun:test"
import { Type as T } from "@sinclair/typebox"
import { parseConfig } from "../../../shared/config/load.ts"
import { ConfigError } from "../../../shared/errors.ts"
import { checkUrlChecks, parseTcpTarget, urlCheckHostProblems } from "./checks.ts"
import { type UrlCheckConfig, UrlCheckSchema, urlCheckName } from "./schema.ts"

// the agent config's `[[urls]]`, as the lead wires it
const Config = T.Object({ urls: T.Array(UrlCheckSchema, { default: [] }) }, { additionalProperties: false })

/** Schema problems, then cross-field problems, the way check-config reports them. */
function problems(urls: object[], agentId = "edge-1"): string[] {
  try {
    const config = parseConfig({ urls }, Config)
    return checkUrlChecks(config.urls, agentId)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return error.details.length > 0 ? [...error.details] : [error.message.replace(/^config: /, "")]
  }
}

describe("[[urls]] defaults", () => {
  test("a URL alone", () => {
    const config = parseConfig({ urls: [{ url: "https://example.com/health" }] }, Config)
    expect(config.urls[0]).toEqual({
      type: "http",
      url: "https://example.com/health",
      timeout_s: 10,
      period_s: 60,
      method: "GET",
      expect_status: ["200-399"],
      cert_expiry_warn_days: 14,
      follow_redirects: true,
      max_redirects: 5,
    })
    expect(checkUrlChecks(config.urls, "edge-1")).toEqual([])
  })

  test.each([
    ["https://example.com/health?x=1#top", "example.com/health"],
    ["https://example.com/", "example.com"],
    ["http://example.com:8080", "example.com:8080"],
    ["tcp://db.internal:5432", "db.internal:5432"],
    ["db.internal:5432", "db.internal:5432"],
  ])("name from the URL: %s -> %s", (url, name) => {
    expect(urlCheckName({ url })).toBe(name)
    expect(urlCheckName({ url, name: "own" })).toBe("own")
  })

  // schema problems name an item by its own `name` (shared/config), by its index when the name is derived
  test("fractional periods down to 0.1 s", () => {
    expect(problems([{ url: "http://a/", period_s: 0.2, timeout_s: 0.1 }])).toEqual([])
    expect(problems([{ url: "http://a/", period_s: 0.05, timeout_s: 0.01 }])[0]).toStartWith(
      "urls[0].period_s: expected number to be greater or equal to 0.1",
    )
  })
})

describe("every bad field names itself", () => {
  test.each([
    [
      "period not above timeout",
      { url: "http://a/", period_s: 10 },
      "urls[a].period_s: 10 s is not more than timeout_s 10 s",
    ],
    ["a URL that is not http(s)", { url: "ftp://a/x" }, "urls[0].url: expected string to match"],
    ["a URL that does not parse", { url: "http://:80/" }, "urls[:80].url: 'http://:80/' is not a valid URL"],
    [
      "a tcp URL on an http check",
      { url: "a:80" },
      "urls[a:80].url: 'a:80' is not an http:// or https:// URL",
    ],
    [
      "an http URL on a tcp check",
      { type: "tcp", url: "http://a/" },
      "urls[a].url: a TCP check takes host:port",
    ],
    [
      "a tcp port out of range",
      { type: "tcp", url: "a:70000" },
      "urls[a:70000].url: 'a:70000' is not host:port",
    ],
    [
      "an unknown field",
      { url: "http://a/", timeout_ms: 5 },
      "urls[0].timeout_ms: unknown field (did you mean 'timeout_s'?)",
    ],
    ["a bad regex", { url: "http://a/", body_regex: ["ok", "(x"] }, "urls[a].body_regex[1]: "],
    [
      "a bad JSON path",
      { url: "http://a/", json_path_equals: { "a..b": 1 } },
      "urls[a].json_path_equals.a..b: ",
    ],
    [
      "a bad status",
      { url: "http://a/", expect_status: [200, "abc"] },
      "urls[0].expect_status[1]: expected union value",
    ],
    [
      "a reversed status range",
      { url: "http://a/", expect_status: ["399-200"] },
      'urls[a].expect_status[0]: "399-200" is not',
    ],
    ["an unknown method", { url: "http://a/", method: "FETCH" }, "urls[0].method: "],
    [
      "a header the probe sets",
      { url: "http://a/", headers: { "Content-Length": "5" } },
      "urls[a].headers.Content-Length: is set by the probe itself",
    ],
    [
      "a bad header name",
      { url: "http://a/", headers: { "X Y": "1" } },
      "urls[a].headers.X Y: is not a valid header name",
    ],
    ["a header value on two lines", { url: "http://a/", headers: { X: "1\r\nY: 2" } }, "urls[0].headers.X: "],
    [
      "body conditions on HEAD",
      { url: "http://a/", method: "HEAD", body_contains: ["x"] },
      "urls[a].body_contains: a response to HEAD has no body",
    ],
    [
      "http fields on tcp",
      { type: "tcp", url: "a:1", body_contains: ["x"] },
      'urls[a:1].body_contains: does not apply to type = "tcp"',
    ],
    ["a bad agent id", { url: "http://a/", agents: ["no spaces"] }, "urls[0].agents[0]: "],
    ["an empty agents list", { url: "http://a/", agents: [] }, "urls[0].agents: "],
    ["a negative timeout", { url: "http://a/", timeout_s: -1 }, "urls[0].timeout_s: "],
    ["too many redirects", { url: "http://a/", max_redirects: 50 }, "urls[0].max_redirects: "],
  ])("%s", (_what, check, problem) => {
    const found = problems([check])
    expect(found).toHaveLength(1)
    expect(found[0]).toStartWith(problem)
  })

  test("several problems at once", () => {
    const found = problems([{ name: "x", url: "http://a/", period_s: 5, timeout_s: 5, body_regex: ["["] }])
    expect(found).toHaveLength(2)
    expect(found[0]).toStartWith("urls[x].period_s: ")
    expect(found[1]).toStartWith("urls[x].body_regex[0]: ")
  })
})

describe("names", () => {
  test("duplicate names of checks run by the same agent", () => {
    expect(problems([{ url: "http://a/" }, { url: "http://b/" }, { url: "http://a" }])).toEqual([
      "urls[a].name: 'a' names checks 1 and 3 of [[urls]], both run by every agent; give them different names (name = \"...\")",
    ])
    expect(
      problems([
        { name: "api", url: "http://a/", agents: ["eu-1", "eu-2"] },
        { name: "api", url: "http://b/", agents: ["eu-2"] },
      ]),
    ).toEqual([expect.stringContaining("both run by agent 'eu-2'")])
    expect(
      problems(
        [
          { name: "api", url: "http://a/", agents: ["edge-1"] },
          { name: "api", url: "http://b/" },
        ],
        "edge-1",
      ),
    ).toEqual([expect.stringContaining("both run by agent 'edge-1'")])
  })

  test("one name per region is fine when no agent runs both", () => {
    const urls = [
      { name: "api", url: "http://eu.example/", agents: ["eu-1"] },
      { name: "api", url: "http://us.example/", agents: ["us-1"] },
    ]
    expect(problems(urls, "eu-1")).toEqual([])
    expect(problems(urls, "ap-1")).toEqual([])
  })
})

describe("host problems", () => {
  test("ca_file must be readable, for the checks this agent runs", () => {
    const checks = [
      { url: "https://a/", ca_file: "/nonexistent/ca.pem" },
      { url: "https://b/", ca_file: "/nonexistent/other.pem", agents: ["elsewhere"] },
    ].map((c) => parseConfig({ urls: [c] }, Config).urls[0] as UrlCheckConfig)
    const found = urlCheckHostProblems(checks, "edge-1")
    expect(found).toHaveLength(1)
    expect(found[0]).toStartWith("urls[a].ca_file: ")
  })
})

test.each([
  ["db:5432", { host: "db", port: 5432 }],
  ["tcp://10.0.0.1:22", { host: "10.0.0.1", port: 22 }],
  ["[::1]:8080", { host: "::1", port: 8080 }],
  ["db:0", undefined],
  ["db", undefined],
  ["a/b:1", undefined],
])("tcp target %s", (url, target) => {
  expect(parseTcpTarget(url)).toEqual(target)
})
