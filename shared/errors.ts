/** Base for Outpost's errors: a stable `code` callers can switch on, and the underlying `cause`. */
export class OutpostError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** A config file that cannot be read or does not match its schema. */
export class ConfigError extends OutpostError {}

/** An envelope that must be rejected; `code` is the reason counted in metrics. */
export class EnvelopeError extends OutpostError {}

/** A publish or connection failure that may succeed on retry. */
export class TransportError extends OutpostError {}
