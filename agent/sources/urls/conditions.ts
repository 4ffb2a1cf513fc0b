/**
 * What a URL check expects of a response: status codes and ranges, and body conditions (substrings, regular
 * expressions, values at simple JSON paths). Parsed once from the config; each parser returns problems naming
 * the item, so `checkUrlChecks` can report them all.
 */

/** An inclusive range of status codes; a single code is a range of one. */
export type StatusRange = { lo: number; hi: number }

const CODE = /^([1-9][0-9]{2})(?:-([1-9][0-9]{2}))?$/

/** `[200, "300-399"]` -> ranges; a problem per item that is not a code or a low-high range. */
export function parseStatusRanges(list: readonly (number | string)[]): {
  ranges: StatusRange[]
  problems: string[]
} {
  const ranges: StatusRange[] = []
  const problems: string[] = []
  list.forEach((item, i) => {
    const m = CODE.exec(String(item).trim())
    const lo = Number(m?.[1])
    const hi = m?.[2] === undefined ? lo : Number(m[2])
    if (!m || lo > hi) {
      problems.push(`[${i}]: ${JSON.stringify(item)} is not a status code or a range like "200-399"`)
    } else ranges.push({ lo, hi })
  })
  return { ranges, problems }
}

export const statusMatches = (status: number, ranges: readonly StatusRange[]): boolean =>
  ranges.some((r) => status >= r.lo && status <= r.hi)

/** `200-399, 418` */
export const formatRanges = (ranges: readonly StatusRange[]): string =>
  ranges.map((r) => (r.lo === r.hi ? String(r.lo) : `${r.lo}-${r.hi}`)).join(", ")

/** One step of a JSON path: an object key or an array index. */
export type PathSegment = string | number

const KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*/
const INDEX = /^\[([0-9]+)\]/

/** `data[0].id` -> ["data", 0, "id"]; `[1].name` for a top-level array. A string is the problem. */
export function parseJsonPath(path: string): PathSegment[] | string {
  const segments: PathSegment[] = []
  let rest = path
  let first = true
  while (rest.length > 0) {
    const index = INDEX.exec(rest)
    if (index) {
      segments.push(Number(index[1]))
      rest = rest.slice(index[0].length)
    } else {
      const dotted = first ? rest : rest.startsWith(".") ? rest.slice(1) : ""
      const key = KEY.exec(dotted)
      if (!key) return `'${path}' is not a path like data[0].id (keys of letters, digits, _ $ -; [n] indices)`
      segments.push(key[0])
      rest = dotted.slice(key[0].length)
    }
    first = false
  }
  return segments.length > 0 ? segments : "an empty path"
}

/** The value at `segments`, or `found: false` when some step does not exist. */
export function valueAt(root: unknown, segments: readonly PathSegment[]): { found: boolean; value: unknown } {
  let at: unknown = root
  for (const s of segments) {
    if (typeof s === "number" ? !Array.isArray(at) || s >= at.length : !isObject(at) || !Object.hasOwn(at, s))
      return { found: false, value: undefined }
    at = (at as Record<string | number, unknown>)[s]
  }
  return { found: true, value: at }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v)

export type JsonExpected = string | number | boolean

/**
 * Equal when of the same type and value; a string expectation also matches a number or boolean written the same
 * way (`"1"` matches 1), as Gatus compares `[BODY].data[0].id == 1` by text.
 */
export function jsonEquals(actual: unknown, expected: JsonExpected): boolean {
  if (actual === expected) return true
  return typeof expected === "string" && (typeof actual === "number" || typeof actual === "boolean")
    ? String(actual) === expected
    : false
}

/** Compiled body conditions of one check. */
export type BodyConditions = {
  contains: string[]
  regex: RegExp[]
  json: { path: string; segments: PathSegment[]; expected: JsonExpected }[]
}

export type BodyConditionsConfig = {
  body_contains?: string[]
  body_regex?: string[]
  json_path_equals?: Record<string, JsonExpected>
}

/** Compiles a check's body conditions; problems are `field[item]: what`. */
export function compileBodyConditions(config: BodyConditionsConfig): {
  conditions: BodyConditions
  problems: string[]
} {
  const problems: string[] = []
  const regex: RegExp[] = []
  ;(config.body_regex ?? []).forEach((source, i) => {
    try {
      regex.push(new RegExp(source))
    } catch (error) {
      problems.push(`body_regex[${i}]: ${(error as Error).message}`)
    }
  })
  const json: BodyConditions["json"] = []
  for (const [path, expected] of Object.entries(config.json_path_equals ?? {})) {
    const segments = parseJsonPath(path)
    if (typeof segments === "string") problems.push(`json_path_equals.${path}: ${segments}`)
    else json.push({ path, segments, expected })
  }
  return { conditions: { contains: [...(config.body_contains ?? [])], regex, json }, problems }
}

export const hasBodyConditions = (c: BodyConditions): boolean =>
  c.contains.length > 0 || c.regex.length > 0 || c.json.length > 0

const quote = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s)

/** The first condition the body fails, as a short text; undefined when all hold. */
export function checkBody(text: string, c: BodyConditions): string | undefined {
  for (const s of c.contains) if (!text.includes(s)) return `body does not contain ${quote(s)}`
  for (const r of c.regex) if (!r.test(text)) return `body does not match /${r.source}/`
  if (c.json.length === 0) return undefined
  let root: unknown
  try {
    root = JSON.parse(text)
  } catch {
    return "body is not JSON (json_path_equals)"
  }
  for (const j of c.json) {
    const { found, value } = valueAt(root, j.segments)
    if (!found) return `body has no ${j.path}`
    if (!jsonEquals(value, j.expected)) {
      return `body ${j.path} is ${quote(JSON.stringify(value) ?? "undefined")}, expected ${quote(JSON.stringify(j.expected))}`
    }
  }
  return undefined
}
