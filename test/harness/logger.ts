import { createLogger, type LogFields, type Logger, type LogLevel } from "../../shared/logger.ts"

/** One line a recording logger was given. */
export type LoggedLine = { level: LogLevel; component: string; message: string; fields: LogFields }

/** A Logger that keeps what it is told (and prints it too when OUTPOST_TEST_LOG is set). */
export type RecordingLogger = Logger & {
  lines: LoggedLine[]
  /** the messages alone, in order */
  messages: string[]
  /** messages logged at `level` */
  at(level: LogLevel): string[]
}

/** Records every level, debug included; `lines` and `messages` grow as the code under test logs. */
export function recordingLogger(component = "test"): RecordingLogger {
  const lines: LoggedLine[] = []
  const messages: string[] = []
  const echo = process.env.OUTPOST_TEST_LOG !== undefined
  const logger = createLogger({
    component,
    level: "debug",
    format: "json",
    write: (json) => {
      const {
        time: _time,
        level,
        component: from,
        msg,
        ...fields
      } = JSON.parse(json) as Record<string, unknown>
      lines.push({
        level: level as LogLevel,
        component: String(from),
        message: String(msg),
        fields: fields as LogFields,
      })
      messages.push(String(msg))
      if (echo) console.log(`${String(level).padEnd(5)} ${String(from)}: ${String(msg)}`)
    },
  })
  return {
    ...logger,
    lines,
    messages,
    at: (level) => lines.filter((l) => l.level === level).map((l) => l.message),
  }
}
