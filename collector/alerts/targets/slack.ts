import { cutUtf8, fitItems } from "./fit.ts"
import {
  LINE_MAX_BYTES,
  labelsText,
  lineSource,
  matchesText,
  moreGroupsText,
  moreLinesText,
  oneLine,
  statusTag,
  timeText,
  totalLines,
} from "./format.ts"
import { type PostResult, postJson, quoteBody, retryAfterMs, statusOutcome } from "./http-post.ts"
import type { AlertMessage, ChatTarget, SendOutcome } from "./types.ts"

/** Text bytes per message: Slack advises short messages; well below where it truncates. */
export const SLACK_MAX_MESSAGE_BYTES = 4000
/** How long a 429 without a readable Retry-After holds the target. */
export const SLACK_DEFAULT_THROTTLE_MS = 30_000
/** Statuses Slack answers for a webhook that will not work until someone changes it. */
const PERMANENT = new Set([400, 403, 404, 410])

/** A Slack (or Slack-compatible) incoming webhook. */
export type SlackOptions = {
  name: string
  /** the webhook URL; it is the credential, so no error quotes it */
  url: string
  proxy?: string
  /** default 10 s */
  timeoutMs?: number
  maxMessageBytes?: number
  /** ms since the epoch; the end of a throttle comes from it */
  now?: () => number
}

/** `&`, `<` and `>` as Slack's mrkdwn wants them (everything else is literal). */
export function slackEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
}

/** The mrkdwn `text` of a message: header, the first lines in a code block, a link to the rest. */
export function slackText(m: AlertMessage, maxBytes: number): string {
  const facts = [`*${matchesText(m.count)}*`]
  if (m.severity !== undefined) facts.push(`severity *${slackEscape(oneLine(m.severity))}*`)
  facts.push(`since ${timeText(m.startsAt)}`)
  if (m.endsAt !== undefined) facts.push(`resolved ${timeText(m.endsAt)}`)
  const labels = oneLine(labelsText(m.labels))
  const header = [`*[${statusTag(m)}] ${slackEscape(oneLine(m.title))}*`, facts.join(" · ")]
  if (labels !== "") header.push(slackEscape(labels))
  const link =
    m.link === undefined ? "" : `<${m.link.replaceAll("|", "%7C").replaceAll(">", "%3E")}|Open the lines>`
  if (m.digest) {
    const items = m.digest.groups.map((g) =>
      slackEscape(
        cutUtf8(`• [${statusTag(g)}] ${oneLine(g.title)}: ${matchesText(g.count)}`, LINE_MAX_BYTES),
      ),
    )
    const total = m.digest.groups.length
    return fitItems({
      head: header.join("\n"),
      items,
      total,
      more: moreGroupsText,
      tail: link,
      separator: "\n",
      maxBytes,
    })
  }
  // a fence inside a line would close the block early
  const items = m.lines.map((l) => {
    const line = [lineSource(l), oneLine(l.text)].filter((p) => p !== "").join("  ")
    return slackEscape(cutUtf8(line, LINE_MAX_BYTES)).replaceAll("```", "'''")
  })
  const block = items.length > 0
  return fitItems({
    head: header.join("\n") + (block ? "\n```" : ""),
    items,
    total: totalLines(m),
    more: moreLinesText,
    tail: block ? `\`\`\`${link === "" ? "" : `\n${link}`}` : link,
    separator: "\n",
    maxBytes,
  })
}

/**
 * What Slack's answer means: 2xx sent (Slack says `ok`; a Slack-compatible server may say something else, and
 * posting again would duplicate), 429 throttled until Retry-After, 400/403/404/410 permanent with Slack's reason,
 * the rest as every target (5xx retry).
 */
export function slackOutcome(result: Extract<PostResult, { ok: true }>, now: number): SendOutcome {
  const { status } = result
  if (status >= 200 && status < 300) return { type: "sent" }
  if (status === 429) {
    const afterMs = retryAfterMs(result.headers.get("retry-after"), now) ?? SLACK_DEFAULT_THROTTLE_MS
    return { type: "throttled", error: `HTTP 429: ${quoteBody(result.body)}`, untilMs: now + afterMs }
  }
  if (PERMANENT.has(status)) return { type: "permanent", error: `HTTP ${status}: ${quoteBody(result.body)}` }
  return statusOutcome(result, now)
}

/** A ChatTarget posting mrkdwn text to a Slack incoming webhook. */
export function createSlackTarget(options: SlackOptions): ChatTarget {
  const now = options.now ?? Date.now
  const timeoutMs = options.timeoutMs ?? 10_000
  const maxMessageBytes = options.maxMessageBytes ?? SLACK_MAX_MESSAGE_BYTES
  return {
    name: options.name,
    type: "slack",
    maxMessageBytes,
    async send(m, signal) {
      const body = { text: slackText(m, maxMessageBytes) }
      const result = await postJson(options.url, body, { proxy: options.proxy, timeoutMs, signal })
      return result.ok ? slackOutcome(result, now()) : result.outcome
    },
  }
}
