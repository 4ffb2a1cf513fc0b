/**
 * A small leveled logger for both programs: text or JSON lines on stdout, one per message. Under systemd (stdout
 * is the journal, JOURNAL_STREAM is set) text lines carry the journal's `<N>` priority prefix and no timestamp,
 * since the journal stamps every line itself.
 */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
export const LOG_FORMATS = ["text", "json"] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

/** Structured context printed after the message (text) or as fields (JSON). */
export type LogFields = Record<string, string | number | boolean | null | undefined>

export type Logger = {
  error(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  debug(message: string, fields?: LogFields): void
  /** true when messages of `level` are written (skip building costly debug text otherwise) */
  enabled(level: LogLevel): boolean
  /** the same output, with `component` naming the part of the program that speaks */
  child(component: string): Logger
}

export type LoggerOptions = {
  level?: LogLevel
  format?: LogFormat
  /** who speaks, e.g. "agent", "collector", "logs[web]" */
  component: string
  /** prefix text lines with the journal's priority instead of a timestamp; default: JOURNAL_STREAM is set */
  journal?: boolean
  /** where each line goes (without its newline); default stdout */
  write?: (line: string) => void
  now?: () => number
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 }
/** syslog priorities, as sd-daemon(3) prefixes: err, warning, info, debug */
const JOURNAL_PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 }

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? "info"
  const format = options.format ?? "text"
  const journal = options.journal ?? process.env.JOURNAL_STREAM !== undefined
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`))
  const now = options.now ?? Date.now
  const make = (component: string): Logger => {
    const emit = (at: LogLevel) => (message: string, fields?: LogFields) => {
      if (RANK[at] > RANK[level]) return
      write(formatLine(format, journal, now(), at, component, message, fields))
    }
    return {
      error: emit("error"),
      warn: emit("warn"),
      info: emit("info"),
      debug: emit("debug"),
      enabled: (at) => RANK[at] <= RANK[level],
      child: (name) => make(name),
    }
  }
  return make(options.component)
}

function formatLine(
  format: LogFormat,
  journal: boolean,
  at: number,
  level: LogLevel,
  component: string,
  message: string,
  fields: LogFields | undefined,
): string {
  if (format === "json") {
    return JSON.stringify({ time: new Date(at).toISOString(), level, component, msg: message, ...fields })
  }
  let extra = ""
  if (fields) {
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined)
        extra += ` ${key}=${typeof value === "string" && /[\s"=]/.test(value) ? JSON.stringify(value) : String(value)}`
    }
  }
  const head = journal ? `<${JOURNAL_PRIORITY[level]}>` : `${new Date(at).toISOString()} `
  return `${head}${level.padEnd(5)} ${component}: ${message}${extra}`
}

/** A logger that drops everything (tests, tools). */
export const silentLogger: Logger = createLogger({ component: "silent", write: () => {} })

/**
 * Lets the same message through at most once per `intervalMs` per key; what was held back in between is counted
 * and reported with the next one that passes ("… (12 more since 10:00:01)"), so repetition never floods the log
 * and never hides that it happened.
 */
export function createRepeatLimiter(intervalMs: number, now: () => number = Date.now) {
  const last = new Map<string, { at: number; held: number }>()
  return (key: string, say: (message: string) => void, message: string): void => {
    const t = now()
    const seen = last.get(key)
    if (seen && t - seen.at < intervalMs) {
      seen.held++
      return
    }
    const suffix =
      seen && seen.held > 0
        ? ` (${seen.held} more like it in the last ${Math.round((t - seen.at) / 1000)} s)`
        : ""
    last.set(key, { at: t, held: 0 })
    if (last.size > 10_000) last.delete(last.keys().next().value as string)
    say(`${message}${suffix}`)
  }
}

/** Parses a `--log-level` value; undefined when it is not one. */
export function parseLogLevel(value: string): LogLevel | undefined {
  return (LOG_LEVELS as readonly string[]).includes(value) ? (value as LogLevel) : undefined
}

/** Parses a `--log-format` value; undefined when it is not one. */
export function parseLogFormat(value: string): LogFormat | undefined {
  return (LOG_FORMATS as readonly string[]).includes(value) ? (value as LogFormat) : undefined
}
