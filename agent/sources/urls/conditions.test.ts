import { describe, expect, test } from "bun:test"
import {
  checkBody,
  compileBodyConditions,
  formatRanges,
  jsonEquals,
  parseJsonPath,
  parseStatusRanges,
  statusMatches,
  valueAt,
} from "./conditions.ts"

describe("status ranges", () => {
  test("codes and ranges, inclusive", () => {
    const { ranges, problems } = parseStatusRanges([200, "300-399", " 418 "])
    expect(problems).toEqual([])
    expect(formatRanges(ranges)).toBe("200, 300-399, 418")
    expect([199, 200, 201, 300, 399, 400, 418].map((s) => statusMatches(s, ranges))).toEqual([
      false,
      true,
      false,
      true,
      true,
      false,
      true,
    ])
  })

  test.each([
    ["a word", "ok"],
    ["a reversed range", "399-200"],
    ["a two-digit code", 99],
    ["an open range", "200-"],
    ["a leading zero", "099"],
  ])("refuses %s", (_what, item) => {
    expect(parseStatusRanges([200, item]).problems).toEqual([
      `[1]: ${JSON.stringify(item)} is not a status code or a range like "200-399"`,
    ])
  })
})

describe("JSON paths", () => {
  test.each([
    ["status", ["status"]],
    ["data[0].id", ["data", 0, "id"]],
    ["[1].name", [1, "name"]],
    ["a.b-c.$d[10][2]", ["a", "b-c", "$d", 10, 2]],
  ])("%s", (path, segments) => {
    expect(parseJsonPath(path)).toEqual(segments)
  })

  test.each(["", "data.", ".data", "data[x]", "data..id", "data[0]id", "a b"])("refuses %p", (path) => {
    expect(typeof parseJsonPath(path)).toBe("string")
  })

  test("valueAt finds values, null included, and tells a missing step", () => {
    const doc = { data: [{ id: 1, gone: null }], n: 0 }
    expect(valueAt(doc, ["data", 0, "id"])).toEqual({ found: true, value: 1 })
    expect(valueAt(doc, ["data", 0, "gone"])).toEqual({ found: true, value: null })
    expect(valueAt(doc, ["data", 1, "id"]).found).toBe(false)
    expect(valueAt(doc, ["n", "x"]).found).toBe(false)
    expect(valueAt(doc, ["data", "0"]).found).toBe(false)
    expect(valueAt(doc, ["toString"]).found).toBe(false)
  })

  test("equality: same type and value; a string also matches a number or boolean written so", () => {
    expect(jsonEquals(1, 1)).toBe(true)
    expect(jsonEquals(1, "1")).toBe(true)
    expect(jsonEquals(true, "true")).toBe(true)
    expect(jsonEquals("1", 1)).toBe(false)
    expect(jsonEquals(null, "null")).toBe(false)
    expect(jsonEquals({ a: 1 }, "[object Object]")).toBe(false)
  })
})

describe("body conditions", () => {
  const compile = (c: Parameters<typeof compileBodyConditions>[0]) => {
    const { conditions, problems } = compileBodyConditions(c)
    expect(problems).toEqual([])
    return conditions
  }

  test("all must hold; the first failing one is named", () => {
    const c = compile({
      body_contains: ["ok"],
      body_regex: ["^\\{"],
      json_path_equals: { status: "ok", "data[0].id": 1 },
    })
    expect(checkBody('{"status":"ok","data":[{"id":1}]}', c)).toBeUndefined()
    expect(checkBody('{"status":"no","data":[{"id":1}]}', c)).toBe('body does not contain "ok"')
    expect(checkBody(' {"status":"ok"}', c)).toBe("body does not match /^\\{/")
    expect(checkBody('{"status":"ok","data":[]}', c)).toBe("body has no data[0].id")
    expect(checkBody('{"status":"ok","data":[{"id":2}]}', c)).toBe('body data[0].id is "2", expected "1"')
    expect(checkBody("{ok", c)).toBe("body is not JSON (json_path_equals)")
  })

  test("bad regexes and paths are problems naming the item", () => {
    const { problems } = compileBodyConditions({
      body_regex: ["fine", "(unclosed"],
      json_path_equals: { "a..b": 1 },
    })
    expect(problems).toHaveLength(2)
    expect(problems[0]).toStartWith("body_regex[1]: ")
    expect(problems[1]).toStartWith("json_path_equals.a..b: 'a..b' is not a path like data[0].id")
  })
})
