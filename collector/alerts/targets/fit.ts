const encoder = new TextEncoder()

/** Length of `text` in UTF-8 bytes. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8")
}

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes, ending in `suffix` when it was cut. The cut falls between
 * characters, never inside one (nor between the halves of a surrogate pair).
 */
export function cutUtf8(text: string, maxBytes: number, suffix = "…"): string {
  if (utf8Bytes(text) <= maxBytes) return text
  const room = maxBytes - utf8Bytes(suffix)
  return room <= 0 ? prefixUtf8(suffix, Math.max(0, maxBytes)) : prefixUtf8(text, room) + suffix
}

/** The longest start of `text` that fits in `maxBytes` UTF-8 bytes. */
function prefixUtf8(text: string, maxBytes: number): string {
  // encodeInto writes whole characters only and says how many UTF-16 units it read
  const { read } = encoder.encodeInto(text, new Uint8Array(maxBytes))
  return text.slice(0, read)
}

/** What `fitItems` joins: a head, items (of `total`), a note on the ones left out, a tail. */
export type FitOptions = {
  head: string
  items: string[]
  /** how many items there are in all; more than `items.length` when the caller holds only the first few */
  total: number
  /** the note for `n` items not shown, e.g. "… and 3 more lines" */
  more: (n: number) => string
  tail: string
  separator: string
  maxBytes: number
}

/**
 * head, as many items as fit, the note on the rest, and tail, joined by `separator` within `maxBytes` UTF-8 bytes.
 * Items are kept whole (cut each one beforehand) and in order; the head is cut only when even no item fits.
 */
export function fitItems(o: FitOptions): string {
  const join = (parts: string[]) => parts.filter((p) => p !== "").join(o.separator)
  const note = (shown: number) => (o.total > shown ? o.more(o.total - shown) : "")
  const whole = join([o.head, ...o.items, note(o.items.length), o.tail])
  if (utf8Bytes(whole) <= o.maxBytes) return whole
  const sep = utf8Bytes(o.separator)
  // room for the tail and the longest note it could take (fewer left out never makes the note longer)
  const reserve = utf8Bytes(o.tail) + utf8Bytes(o.more(o.total)) + 3 * sep
  const head = cutUtf8(o.head, Math.max(0, o.maxBytes - reserve))
  let used = utf8Bytes(head) + reserve
  const shown: string[] = []
  for (const item of o.items) {
    const cost = utf8Bytes(item) + sep
    if (used + cost > o.maxBytes) break
    shown.push(item)
    used += cost
  }
  return cutUtf8(join([head, ...shown, note(shown.length), o.tail]), o.maxBytes)
}
