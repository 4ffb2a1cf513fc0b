/** Base for Outpost's errors: a stable `code` callers can switch on, and the underlying `cause`. */
export class OutpostError extends Error {
  readonly code: string
  /** the first line alone, without `details` */
  readonly headline: string
  /** one line per problem when there are several (each names its field) */
  readonly details: readonly string[]
  constructor(code: string, message: string, options?: { cause?: unknown; details?: readonly string[] }) {
    const details = options?.details ?? []
    super(details.length > 0 ? `${message}\n${details.map((d) => `  ${d}`).join("\n")}` : message, options)
    this.code = code
    this.headline = message
    this.details = details
    this.name = new.target.name
  }
}

/** A config file that cannot be read or does not match its schema. */
export class ConfigError extends OutpostError {}

/** A wrong command line: unknown command or option, missing value. */
export class UsageError extends OutpostError {}

/** An envelope that must be rejected; `code` is the reason counted in metrics. */
export class EnvelopeError extends OutpostError {}

/** A publish or connection failure that may succeed on retry. */
export class TransportError extends OutpostError {}
