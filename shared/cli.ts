import { parseArgs as parseNodeArgs } from "node:util"
import { nearest } from "./config/problems.ts"
import { ConfigError, OutpostError, UsageError } from "./errors.ts"
import {
  createLogger,
  LOG_FORMATS,
  LOG_LEVELS,
  type Logger,
  parseLogFormat,
  parseLogLevel,
} from "./logger.ts"

export type OptionSpec = {
  type: "string" | "boolean"
  short?: string
  /** shown in --help; for strings, the value's name comes first: "<file>  the config file" */
  help: string
  multiple?: boolean
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>

/** What a command gets: its options, positionals, and a logger set up from --log-level / --log-format. */
export type CommandContext = { values: OptionValues; positionals: string[]; logger: Logger; debug: boolean }

export type Command = {
  name: string
  /** one line for the program's --help */
  summary: string
  /** the usage line after the program name, e.g. "run --config <file>" */
  usage: string
  /** more text for the command's --help */
  description?: string
  options: Record<string, OptionSpec>
  /** how many positionals it takes (default none) */
  positionals?: { min: number; max: number; name: string }
  /** takes --log-level and --log-format */
  logs?: boolean
  run(ctx: CommandContext): Promise<number | undefined> | number | undefined
}

export type Program = {
  name: string
  version: string
  summary: string
  /** runs when no command is given (its options may then be given alone: `outpost-agent --config f`) */
  defaultCommand: string
  commands: Command[]
  /** closing text of the program's --help */
  footer?: string
}

const COMMON: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h", help: "show this help" },
  debug: { type: "boolean", help: "print the stack of an error, not only its one line" },
}
const LOG_OPTIONS: Record<string, OptionSpec> = {
  "log-level": { type: "string", help: `<level>  ${LOG_LEVELS.join(", ")} (default info)` },
  "log-format": { type: "string", help: `<format>  ${LOG_FORMATS.join(" or ")} (default text)` },
}

/** A `--config`/`-c` option, the same in every command that reads one. */
export const CONFIG_OPTION: Record<string, OptionSpec> = {
  config: { type: "string", short: "c", help: "<file>  the config file (.toml or .json)" },
}

/** Runs the program: parses argv strictly, runs the command, prints errors as one line and exits. */
export async function runProgram(program: Program, argv: string[]): Promise<never> {
  const debug = argv.includes("--debug")
  try {
    process.exit((await dispatch(program, argv)) ?? 0)
  } catch (error) {
    process.stderr.write(`${formatError(error, debug)}\n`)
    process.exit(exitCode(error))
  }
}

async function dispatch(program: Program, argv: string[]): Promise<number | undefined> {
  const first = argv[0]
  if (first === "--version" || first === "-V" || first === "version") return void console.log(program.version)
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    if (first === "help" && argv[1])
      return void console.log(commandHelp(program, findCommand(program, argv[1])))
    return void console.log(programHelp(program))
  }
  const named = first.startsWith("-") ? undefined : first
  const command = findCommand(program, named ?? program.defaultCommand)
  const args = named ? argv.slice(1) : argv
  const specs = { ...COMMON, ...(command.logs ? LOG_OPTIONS : {}), ...command.options }
  const { values, positionals } = parseStrict(program, command, specs, args)
  if (values.help) return void console.log(commandHelp(program, command))
  const p = command.positionals ?? { min: 0, max: 0, name: "" }
  if (positionals.length < p.min || positionals.length > p.max) {
    const want =
      p.max === 0 ? "no arguments" : p.min === p.max ? `${p.min} ${p.name}` : `${p.min}-${p.max} ${p.name}`
    throw new UsageError(
      "cli_usage",
      `${program.name} ${command.name} takes ${want}, got ${positionals.length === 0 ? "none" : `'${positionals.join(" ")}'`}; see ${program.name} ${command.name} --help`,
    )
  }
  const logger = createLogger({
    component: program.name.replace(/^outpost-/, ""),
    level: choice(values["log-level"], parseLogLevel, "--log-level", LOG_LEVELS),
    format: choice(values["log-format"], parseLogFormat, "--log-format", LOG_FORMATS),
  })
  return await command.run({ values, positionals, logger, debug: values.debug === true })
}

function choice<T>(
  value: unknown,
  parse: (v: string) => T | undefined,
  flag: string,
  allowed: readonly string[],
): T | undefined {
  if (value === undefined) return undefined
  const parsed = parse(String(value))
  if (parsed === undefined) {
    throw new UsageError("cli_usage", `${flag} must be one of ${allowed.join(", ")}, got '${String(value)}'`)
  }
  return parsed
}

function findCommand(program: Program, name: string): Command {
  const command = program.commands.find((c) => c.name === name)
  if (command) return command
  const near = nearest(
    name,
    program.commands.map((c) => c.name),
  )
  throw new UsageError(
    "cli_usage",
    `unknown command '${name}'${near ? ` (did you mean '${near}'?)` : ""}; see ${program.name} --help`,
  )
}

function parseStrict(program: Program, command: Command, specs: Record<string, OptionSpec>, args: string[]) {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {}
  for (const [name, s] of Object.entries(specs)) {
    options[name] = {
      type: s.type,
      ...(s.short ? { short: s.short } : {}),
      ...(s.multiple ? { multiple: true } : {}),
    }
  }
  try {
    const parsed = parseNodeArgs({ args, options, strict: true, allowPositionals: true })
    return { values: parsed.values as OptionValues, positionals: parsed.positionals }
  } catch (error) {
    const e = error as Error & { code?: string }
    const see = `see ${program.name} ${command.name} --help`
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const given = /'([^']+)'/.exec(e.message)?.[1] ?? "?"
      const near = nearest(given.replace(/^-+/, "").split("=")[0] ?? "", Object.keys(specs))
      throw new UsageError(
        "cli_usage",
        `unknown option ${given} for '${command.name}'${near ? ` (did you mean --${near}?)` : ""}; ${see}`,
      )
    }
    if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const flag = /Option '([^']+)'/.exec(e.message)?.[1] ?? "an option"
      throw new UsageError(
        "cli_usage",
        `${flag.replace(/^-\w, /, "").replace(/ <value>$/, "")} needs a value; ${see}`,
      )
    }
    throw new UsageError("cli_usage", `${e.message}; ${see}`)
  }
}

function optionLines(specs: Record<string, OptionSpec>): string[] {
  return Object.entries(specs).map(([name, s]) => {
    const [value, text] =
      s.type === "string" && s.help.startsWith("<") ? s.help.split(/ {2}/, 2) : ["", s.help]
    const flag = `${s.short ? `-${s.short}, ` : "    "}--${name}${value ? ` ${value}` : ""}`
    return `  ${flag.padEnd(30)} ${text}`
  })
}

export function programHelp(program: Program): string {
  const width = Math.max(...program.commands.map((c) => c.name.length)) + 2
  return [
    `${program.name} ${program.version}: ${program.summary}`,
    "",
    "Usage:",
    `  ${program.name} <command> [options]        (no command: ${program.defaultCommand})`,
    `  ${program.name} <command> --help           options of one command`,
    `  ${program.name} --version`,
    "",
    "Commands:",
    ...program.commands.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
    ...(program.footer ? ["", program.footer] : []),
  ].join("\n")
}

export function commandHelp(program: Program, command: Command): string {
  const specs = { ...command.options, ...(command.logs ? LOG_OPTIONS : {}), ...COMMON }
  return [
    `Usage: ${program.name} ${command.usage}`,
    "",
    command.summary,
    ...(command.description ? ["", command.description] : []),
    "",
    "Options:",
    ...optionLines(specs),
  ].join("\n")
}

/** The string value of an option that must be there. */
export function required(ctx: CommandContext, name: string, command: string): string {
  const value = ctx.values[name]
  if (typeof value !== "string" || value === "") {
    throw new UsageError("cli_usage", `${command} needs --${name}; see ${command} --help`)
  }
  return value
}

/**
 * `error: <what> (<code>)`: Outpost's own errors carry a code; system errors (EADDRINUSE, EACCES, …) keep theirs;
 * anything else is `internal`. A config error with several problems lists them below, one per line. The stack
 * only with --debug.
 */
export function formatError(error: unknown, debug: boolean): string {
  const e = error instanceof Error ? error : new Error(String(error))
  const { headline, details, code } = describeError(e)
  const lines = [`error: ${headline} (${code})`, ...details.map((d) => `  - ${d}`)]
  if (debug) lines.push(e.stack ?? "", ...(e.cause instanceof Error ? [`cause: ${e.cause.stack}`] : []))
  else if (code === "internal") lines.push("  (run with --debug for the stack)")
  return lines.join("\n")
}

function describeError(e: Error): { headline: string; details: readonly string[]; code: string } {
  if (e instanceof OutpostError) return { headline: e.headline, details: e.details, code: e.code }
  const sys = (e as NodeJS.ErrnoException).code
  const text = e.message.split("\n")[0] ?? ""
  if (/libduckdb|duckdb\.node|Cannot find module '@duckdb/i.test(e.message)) {
    const missing = (globalThis as Record<string, unknown>).__outpostDuckdbMissing
    return {
      headline: `DuckDB's native library cannot be loaded (${missing ? `${missing} is missing` : text}); keep libduckdb.so beside the binary, as 'bun run build' leaves it`,
      details: [],
      code: "duckdb_missing",
    }
  }
  if (typeof sys === "string" && /^E[A-Z]+$/.test(sys)) return { headline: text, details: [], code: sys }
  return { headline: text || e.name, details: [], code: "internal" }
}

/** 2 for a wrong command line or config (fix the input), 1 for anything else. */
function exitCode(error: unknown): number {
  // instanceof, not the class name: names are minified in the compiled binaries
  if (error instanceof UsageError || error instanceof ConfigError) return 2
  return 1
}

/** Resolves at the first SIGTERM or SIGINT; `signal` aborts then too (stops a start-up that is still waiting). */
export function stopSignal(): { signal: AbortSignal; stopped: Promise<NodeJS.Signals> } {
  const abort = new AbortController()
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      abort.abort()
      resolve(sig)
    }
    process.once("SIGTERM", on)
    process.once("SIGINT", on)
  })
  return { signal: abort.signal, stopped }
}

/** True for the error a start-up gives when `stopSignal` aborted it. */
export const isAbort = (error: unknown) =>
  error instanceof Error && (error.name === "AbortError" || (error as { code?: string }).code === "aborted")
