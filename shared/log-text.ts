/**
 * Text from the outside world (NATS headers, subjects, error messages quoting them) made safe for a log line or a
 * stored message: control characters (C0, DEL, C1, which a terminal or journal viewer may interpret) become `\xNN`
 * escapes, and the result is cut to `max` characters.
 */
export function safeText(text: string, max = 300): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`
  })
  return escaped.length > max ? `${escaped.slice(0, max)}… (${escaped.length - max} more)` : escaped
}
