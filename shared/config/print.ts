import { stringify as toToml } from "smol-toml"

const SECRET = /token|password|secret|seed/i

/**
 * The effective config (defaults filled, `${ENV}` replaced) as TOML or JSON, for `config --print`. Secret values
 * (tokens, passwords) are shown as "<set>"; paths to secret files are shown as they are.
 */
export function printableConfig(config: unknown, format: "toml" | "json"): string {
  const masked = mask(config, "")
  return format === "json" ? `${JSON.stringify(masked, null, 2)}\n` : `${toToml(masked)}\n`
}

function mask(value: unknown, key: string): unknown {
  if (Array.isArray(value)) return value.map((v) => mask(v, key))
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = mask(v, k)
    return out
  }
  if (typeof value === "string" && SECRET.test(key) && !/file$/i.test(key)) return "<set>"
  return value
}
