import type { TSchema } from "@sinclair/typebox"
import type { ValueError } from "@sinclair/typebox/value"
import { itemName } from "./interpolate.ts"

/**
 * One line per schema problem, each starting with the field as an operator would write it: `logs[web].mode`
 * (array items by their `name`), `nats.servers[0]`. Unknown fields get the nearest known one as a suggestion.
 */
export function describeProblems(_schema: TSchema, value: unknown, errors: Iterable<ValueError>): string[] {
  const out: string[] = []
  for (const error of errors) out.push(describe(error, value))
  return out
}

function describe(error: ValueError, root: unknown): string {
  const segments = error.path.split("/").slice(1).map(unescapePointer)
  const field = fieldName(segments, root)
  if (error.message.includes("Unexpected property")) {
    const known = Object.keys((error.schema as { properties?: Record<string, unknown> }).properties ?? {})
    const unknown = segments.at(-1) ?? ""
    const near = nearest(unknown, known)
    return `${field}: unknown field${near ? ` (did you mean '${near}'?)` : known.length ? ` (known: ${known.join(", ")})` : ""}`
  }
  const expected = expectedForm(error.schema)
  if (error.value === undefined)
    return `${field}: required field is missing${expected ? ` (expected ${expected})` : ""}`
  return `${field}: ${error.message.toLowerCase()}${expected ? ` (expected ${expected})` : ""}`
}

const unescapePointer = (s: string) => s.replaceAll("~1", "/").replaceAll("~0", "~")

/** `logs/0/mode` -> `logs[web].mode` when item 0 has name "web", else `logs[0].mode`. */
export function fieldName(segments: string[], root: unknown): string {
  if (segments.length === 0) return "(root)"
  let out = ""
  let at: unknown = root
  for (const segment of segments) {
    if (Array.isArray(at) && /^\d+$/.test(segment)) {
      const item = at[Number(segment)]
      out += `[${itemName(item) ?? segment}]`
      at = item
    } else {
      out += out ? `.${segment}` : segment
      at = at !== null && typeof at === "object" ? (at as Record<string, unknown>)[segment] : undefined
    }
  }
  return out
}

/** The known name closest to `name` (a typo or a different separator), if one is close enough. */
export function nearest(name: string, known: string[]): string | undefined {
  const plain = (s: string) => s.toLowerCase().replaceAll(/[-_]/g, "")
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const k of known) {
    const d = plain(k) === plain(name) ? 0 : distance(name.toLowerCase(), k.toLowerCase())
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
    }
    prev = row
  }
  return prev[b.length] as number
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

/** The schema of the value at `path` (object keys and array indices), looking into unions; undefined if none. */
export function schemaAt(schema: TSchema, path: string[]): TSchema | undefined {
  let at: TSchema | undefined = schema
  for (const segment of path) {
    if (!at) return undefined
    at = child(at, segment)
  }
  return at
}

function child(schema: TSchema, segment: string): TSchema | undefined {
  if (schema.type === "object" && schema.properties?.[segment]) return schema.properties[segment] as TSchema
  if (schema.type === "array" && /^\d+$/.test(segment)) return schema.items as TSchema
  for (const option of (schema.anyOf ?? []) as TSchema[]) {
    const found = child(option, segment)
    if (found) return found
  }
  return undefined
}
