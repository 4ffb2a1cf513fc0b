import { ConfigError } from "../../../shared/errors.ts"
import type { LogsSourceConfig } from "../../config/schema.ts"

/** A matched line inside a buffer: [start, end) without its newline, and the first rule (in config order) it matched. */
export type LineMatch = { start: number; end: number; rule: string }

/** Finds the lines of `buf[from, to)` that match any rule; the region holds whole lines (the last may lack "\n"). */
export type RuleSet = { find(buf: Buffer, from: number, to: number): LineMatch[] }

type CompiledRule = { name: string; keywords: Buffer[]; search?: RegExp; test?: RegExp }

const NEWLINE = 10
/** UTF-8 bytes seen as latin1 text: one char per byte, so string indices are byte offsets. */
const asLatin1 = (s: string): string => Buffer.from(s, "utf8").toString("latin1")

/**
 * Rewrites a regex source to run over latin1 text: each non-ASCII character (literal or `\uXXXX`/`\xXX`)
 * becomes the group of its UTF-8 bytes, so that a quantifier after it still applies to the whole character.
 * Inside a character class that cannot work, so it is refused.
 */
function latin1Source(source: string): string {
  let out = ""
  let inClass = false
  const nonAscii = (char: string) => {
    if (inClass) throw new Error(`non-ASCII '${char}' in a character class; write (?:a|b) instead`)
    return `(?:${asLatin1(char)})`
  }
  for (let i = 0; i < source.length; ) {
    const char = String.fromCodePoint(source.codePointAt(i) as number)
    i += char.length
    if (char === "\\") {
      const hex = /^(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2}))/.exec(source.slice(i))
      const code = hex ? Number.parseInt((hex[1] ?? hex[2]) as string, 16) : 0
      if (hex && code > 0x7f) {
        out += nonAscii(String.fromCharCode(code))
        i += hex[0].length
      } else if (source.startsWith("k<", i)) {
        const end = source.indexOf(">", i) // a named backreference: copied as written
        out += source.slice(i - 1, end + 1)
        i = end === -1 ? source.length : end + 1
      } else {
        out += char + (source[i] ?? "")
        i++
      }
    } else if (char.charCodeAt(0) > 0x7f) {
      out += nonAscii(char)
    } else if (!inClass && source.startsWith("?<", i) && source[i + 2] !== "=" && source[i + 2] !== "!") {
      const end = source.indexOf(">", i) // a group name: copied as written
      out += source.slice(i - 1, end + 1)
      i = end === -1 ? source.length : end + 1
    } else {
      if (char === "[" && !inClass) inClass = true
      else if (char === "]" && inClass) inClass = false
      out += char
    }
  }
  return out
}

/**
 * Compiles a source's rules. Keywords match bytes (UTF-8); a regex is the source of a JavaScript RegExp
 * (no flags; inline modifiers such as `(?i:error)` work) run over the line's bytes as latin1 text: non-ASCII
 * literals match their UTF-8 bytes, but `.`, `\S` or `[^x]` match one byte of a non-ASCII character.
 * Throws a ConfigError naming the source and the rule when a rule is unusable.
 */
export function compileRules(source: string, rules: LogsSourceConfig["rules"]): RuleSet {
  const compiled = rules.map((rule): CompiledRule => {
    const fail = (problem: string, cause?: unknown) =>
      new ConfigError("invalid_rule", `logs source '${source}': rule '${rule.name}' ${problem}`, { cause })
    const keywords = rule.keywords ?? []
    if (keywords.length === 0 && rule.regex === undefined) throw fail("needs keywords or a regex")
    for (const keyword of keywords) {
      if (keyword.length === 0) throw fail("has an empty keyword")
      if (keyword.includes("\n")) throw fail(`has a keyword with a newline, which no line can contain`)
    }
    const out: CompiledRule = { name: rule.name, keywords: keywords.map((k) => Buffer.from(k, "utf8")) }
    if (rule.regex !== undefined) {
      try {
        new RegExp(rule.regex)
        // "m": ^ and $ hold at line bounds when searching a whole chunk; each hit is then confirmed on its line
        const source = latin1Source(rule.regex)
        out.search = new RegExp(source, "gm")
        out.test = new RegExp(source)
      } catch (cause) {
        throw fail(`has an invalid regex /${rule.regex}/: ${(cause as Error).message}`, cause)
      }
    }
    return out
  })
  return { find: (buf, from, to) => findMatches(compiled, buf, from, to) }
}

function findMatches(rules: CompiledRule[], buf: Buffer, from: number, to: number): LineMatch[] {
  const region = buf.subarray(from, to)
  const hits = new Map<number, LineMatch>() // by line start; the first rule to claim a line keeps it
  let text: string | undefined
  for (const rule of rules) {
    for (const keyword of rule.keywords) {
      let at = region.indexOf(keyword)
      while (at !== -1) {
        const start = at === 0 ? 0 : region.lastIndexOf(NEWLINE, at - 1) + 1
        let end = region.indexOf(NEWLINE, at + keyword.length)
        if (end === -1) end = region.length
        if (!hits.has(start)) hits.set(start, { start: from + start, end: from + end, rule: rule.name })
        at = end + 1 < region.length ? region.indexOf(keyword, end + 1) : -1
      }
    }
    if (rule.search && rule.test) {
      text ??= region.toString("latin1")
      const search = rule.search
      search.lastIndex = 0
      for (let m = search.exec(text); m !== null; m = search.exec(text)) {
        const start = m.index === 0 ? 0 : text.lastIndexOf("\n", m.index - 1) + 1
        if (start >= text.length) break // an empty match after the last newline: no line there
        let end = text.indexOf("\n", m.index)
        if (end === -1) end = text.length
        if (!hits.has(start) && rule.test.test(text.slice(start, end))) {
          hits.set(start, { start: from + start, end: from + end, rule: rule.name })
        }
        if (end >= text.length) break
        search.lastIndex = end + 1
      }
    }
  }
  return [...hits.values()].sort((a, b) => a.start - b.start)
}
