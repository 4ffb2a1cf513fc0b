import type { AlertMessage, MessageLine } from "./types.ts"

// Pieces every chat message is made of, so that DingTalk and Slack say the same things in their own markup.

/** The most UTF-8 bytes one log line takes in a message: a long one must not crowd out the rest. */
export const LINE_MAX_BYTES = 512

/** `FIRING` or `RESOLVED`. */
export function statusTag(m: Pick<AlertMessage, "status">): string {
  return m.status === "firing" ? "FIRING" : "RESOLVED"
}

/** `1 match`, `12 matches`. */
export function matchesText(count: number): string {
  return count === 1 ? "1 match" : `${count} matches`
}

/** `… and 3 more lines` */
export function moreLinesText(n: number): string {
  return `… and ${n} more ${n === 1 ? "line" : "lines"}`
}

/** `… and 3 more groups` */
export function moreGroupsText(n: number): string {
  return `… and ${n} more ${n === 1 ? "group" : "groups"}`
}

/** `k=v, k2=v2`, sorted by key. */
export function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(", ")
}

/** Where a line comes from: `edge-1 /var/log/app.log:1234`, as much of it as is known. */
export function lineSource(line: MessageLine): string {
  const place =
    line.file === undefined ? "" : line.offset === undefined ? line.file : `${line.file}:${line.offset}`
  return [line.agent ?? "", place].filter((p) => p !== "").join(" ")
}

/** `text` on one line: control characters (a log line's own CR, tabs, escapes) become spaces. */
export function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing them is the point
  return text.replace(/[\u0000-\u001f\u007f]+/g, " ").trimEnd()
}

/** How many lines the message stands for: all its matches, of which `lines` are the first few. */
export function totalLines(m: Pick<AlertMessage, "count" | "lines">): number {
  return Math.max(m.count, m.lines.length)
}

/** `2023-11-14T22:13:20Z` */
export function timeText(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")
}
