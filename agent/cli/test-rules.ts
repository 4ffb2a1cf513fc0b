import { readFileSync } from "node:fs"
import { ConfigError } from "../../shared/errors.ts"
import type { AgentConfig, LogsSourceConfig } from "../config/schema.ts"
import { openFile } from "../sources/logs/files.ts"
import { closeQuietly } from "../sources/logs/generation.ts"
import { compileRules } from "../sources/logs/rules.ts"
import { readChunk, type TailState } from "../sources/logs/tailer.ts"

export type TestRulesOptions = {
  file: string
  /** the `[[logs]]` entry to apply; default: the one whose paths match the file, or the only one */
  source?: string
  /** most lines printed (the summary counts all) */
  limit: number
  print(line: string): void
}

/**
 * Reads a file from its start exactly as the agent's logs source would (same tailer, caps and rules), and
 * prints the lines it would ship with the rule that matched, then a summary. Nothing is published or saved.
 */
export function testRules(config: AgentConfig, o: TestRulesOptions): number {
  const source = pickSource(config, o.file, o.source)
  const rules = source.rules.length > 0 ? compileRules(source.name, source.rules) : undefined
  const file = openFile(o.file, (path, kind) => {
    throw new ConfigError("cli_usage", `${path} is a ${kind}, not a regular file`)
  })
  if (!file) throw new ConfigError("cli_usage", `--file ${o.file}: no such file`)
  const state: TailState = { fd: file.fd, position: 0, skipping: false }
  const options = {
    chunkBytes: source.read_chunk_bytes,
    maxLineBytes: source.max_line_bytes,
    rules: source.mode === "match" ? rules : undefined,
  }
  const byRule = new Map<string, number>()
  let shipped = 0
  let truncated = 0
  try {
    for (;;) {
      const chunk = readChunk(state, file.stat.size, true, options)
      if (!chunk) break
      for (const part of chunk.parts) {
        const lines = part.raw
          ? splitRaw(part.offset, part.bytes)
          : [{ offset: part.offset, text: decode(part.bytes) }]
        for (const line of lines) {
          shipped++
          if (part.truncated) truncated++
          const rule = part.rule ?? "-"
          byRule.set(rule, (byRule.get(rule) ?? 0) + 1)
          if (shipped <= o.limit)
            o.print(`${line.offset}\t${rule}\t${line.text}${part.truncated ? " [truncated]" : ""}`)
        }
      }
    }
  } finally {
    closeQuietly(file.fd)
  }
  const read = countFileLines(o.file)
  const rulesText = [...byRule].map(([r, n]) => `${r === "-" ? "no rule" : r}: ${n}`).join(", ")
  const what = source.mode === "match" ? `of ${read} lines would ship` : "lines would ship (mode all)"
  o.print(
    `logs[${source.name}] ${o.file}: ${shipped} ${what}${rulesText ? ` (${rulesText})` : ""}` +
      (truncated ? `; ${truncated} cut at max_line_bytes ${source.max_line_bytes}` : "") +
      (shipped > o.limit ? `; first ${o.limit} shown (--limit)` : ""),
  )
  return 0
}

function pickSource(config: AgentConfig, file: string, name: string | undefined): LogsSourceConfig {
  if (name !== undefined) {
    const s = config.logs.find((l) => l.name === name)
    if (!s) {
      const names = config.logs.map((l) => l.name).join(", ") || "none"
      throw new ConfigError(
        "cli_usage",
        `--source ${name}: no [[logs]] entry has that name (there are: ${names})`,
      )
    }
    return s
  }
  const matching = config.logs.filter((l) => l.paths.some((p) => p === file || new Bun.Glob(p).match(file)))
  if (matching.length === 1) return matching[0] as LogsSourceConfig
  if (matching.length === 0 && config.logs.length === 1) return config.logs[0] as LogsSourceConfig
  const names = (matching.length > 0 ? matching : config.logs).map((l) => l.name).join(", ") || "none"
  throw new ConfigError(
    "cli_usage",
    `which [[logs]] entry should read ${file}? give --source (one of: ${names})`,
  )
}

/** Lines in the file, the last one counted without its newline too. */
function countFileLines(path: string): number {
  const bytes = readFileSync(path)
  let lines = 0
  for (let nl = bytes.indexOf(10); nl >= 0; nl = bytes.indexOf(10, nl + 1)) lines++
  return bytes.length > 0 && bytes[bytes.length - 1] !== 10 ? lines + 1 : lines
}

const decoder = new TextDecoder()
const decode = (bytes: Uint8Array) => decoder.decode(bytes)

function splitRaw(offset: number, bytes: Uint8Array): { offset: number; text: string }[] {
  const out: { offset: number; text: string }[] = []
  let at = 0
  while (at < bytes.length) {
    let nl = bytes.indexOf(10, at)
    if (nl < 0) nl = bytes.length
    out.push({ offset: offset + at, text: decode(bytes.subarray(at, nl)) })
    at = nl + 1
  }
  return out
}
