/** Where `${NAME}` values come from. */
export type Environment = Record<string, string | undefined>

/** `$$`, `${NAME}` or `${NAME:-default}` */
const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string of a parsed config (keys are left alone; `$$` is a
 * literal `$`), so that one file serves a fleet. A variable that is unset (or empty, for `:-`) and has no default
 * is a problem naming the field, never an empty string.
 */
export function interpolate(
  raw: unknown,
  env: Environment,
): { value: unknown; problems: string[]; whole: string[][] } {
  const problems: string[] = []
  const whole: string[][] = []
  const walk = (value: unknown, path: string, at: string[]): unknown => {
    if (typeof value === "string") {
      const out = replace(value, path)
      if (out !== value && WHOLE.test(value)) whole.push(at)
      return out
    }
    if (Array.isArray(value))
      return value.map((v, i) => walk(v, `${path}[${itemName(v) ?? i}]`, [...at, String(i)]))
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, path ? `${path}.${k}` : k, [...at, k])
      return out
    }
    return value
  }
  const replace = (text: string, path: string) =>
    text.includes("$")
      ? text.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
          if (name === undefined) return "$"
          const set = env[name]
          if (fallback !== undefined) return set === undefined || set === "" ? fallback : set
          if (set !== undefined) return set
          problems.push(
            `${path}: environment variable ${name} is not set (write \${${name}:-default} for a default)`,
          )
          return match
        })
      : text
  return { value: walk(raw, "", []), problems, whole }
}

/** A value that is one reference and nothing else: it may stand for a number or a boolean. */
const WHOLE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/

/** The `name` of an array item, when it has one: `logs[app-errors]` reads better than `logs[3]`. */
export function itemName(item: unknown): string | undefined {
  if (item === null || typeof item !== "object" || Array.isArray(item)) return undefined
  const name = (item as Record<string, unknown>).name
  return typeof name === "string" && name !== "" ? name : undefined
}
