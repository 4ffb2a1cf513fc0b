import { createHmac } from "node:crypto"
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
import { type PostResult, postJson, quoteBody, statusOutcome } from "./http-post.ts"
import type { AlertMessage, ChatTarget, SendOutcome } from "./types.ts"

/** The custom robot endpoint (the English docs show oapi.dingtalk.io). */
export const DINGTALK_URL = "https://oapi.dingtalk.com/robot/send"
/** Markdown text bytes per message: DingTalk documents no limit we rely on, so this stays well below any. */
export const DINGTALK_MAX_MESSAGE_BYTES = 4000
/** After 20 messages in a minute DingTalk refuses a robot's messages for 10 minutes (errcode 130101). */
export const DINGTALK_THROTTLE_MS = 10 * 60_000
const TITLE_MAX_BYTES = 200

/** A DingTalk custom robot (security: signing, keyword, or both; an IP allow-list needs nothing here). */
export type DingTalkOptions = {
  name: string
  /** default DINGTALK_URL */
  url?: string
  accessToken: string
  /** the robot's signing secret (SEC...), when signing is on */
  secret?: string
  /** when the robot checks a keyword: every message carries it */
  keyword?: string
  proxy?: string
  /** default 10 s */
  timeoutMs?: number
  maxMessageBytes?: number
  /** ms since the epoch; the signing timestamp and the end of a throttle come from it */
  now?: () => number
}

/** `base64(HMAC-SHA256(key = secret, message = timestamp + "\n" + secret))`, not yet URL-encoded. */
export function signDingTalk(timestamp: number, secret: string): string {
  return createHmac("sha256", secret).update(`${timestamp}\n${secret}`).digest("base64")
}

/** The URL of one send: token, and with a secret the timestamp and its sign, each URL-encoded once. */
export function dingTalkUrl(base: string, accessToken: string, timestamp: number, secret?: string): string {
  const url = new URL(base)
  url.searchParams.set("access_token", accessToken)
  if (secret !== undefined) {
    url.searchParams.set("timestamp", String(timestamp))
    url.searchParams.set("sign", signDingTalk(timestamp, secret))
  }
  return url.href
}

/** The markdown `title` (the notification's text; carries the keyword) and `text` of a message. */
export function dingTalkMarkdown(
  m: AlertMessage,
  options: { keyword?: string; maxBytes: number },
): { title: string; text: string } {
  let title = cutUtf8(`[${statusTag(m)}] ${oneLine(m.title)}`, TITLE_MAX_BYTES)
  const { keyword } = options
  if (keyword !== undefined && !title.includes(keyword))
    title = cutUtf8(`${keyword} ${title}`, TITLE_MAX_BYTES)
  const facts = [`**${matchesText(m.count)}**`]
  if (m.severity !== undefined) facts.push(`severity **${oneLine(m.severity)}**`)
  facts.push(`since ${timeText(m.startsAt)}`)
  if (m.endsAt !== undefined) facts.push(`resolved ${timeText(m.endsAt)}`)
  const labels = oneLine(labelsText(m.labels))
  const head = [`#### ${title}`, facts.join(" · "), ...(labels === "" ? [] : [labels])].join("\n\n")
  const tail = m.link === undefined ? "" : `[Open the lines](${m.link})`
  // each line a quote paragraph: DingTalk's markdown has quotes, and no code blocks we could rely on
  const fit = m.digest
    ? {
        items: m.digest.groups.map((g) => `- [${statusTag(g)}] ${oneLine(g.title)}: ${matchesText(g.count)}`),
        total: m.digest.groups.length,
        more: moreGroupsText,
      }
    : {
        items: m.lines.map(
          (l) => `> ${[lineSource(l), oneLine(l.text)].filter((p) => p !== "").join(" · ")}`,
        ),
        total: totalLines(m),
        more: moreLinesText,
      }
  const items = fit.items.map((item) => cutUtf8(item, LINE_MAX_BYTES))
  return {
    title,
    text: fitItems({ head, tail, separator: "\n\n", maxBytes: options.maxBytes, ...fit, items }),
  }
}

/** What DingTalk's answer means: only HTTP 200 with errcode 0 is a success. */
export function dingTalkOutcome(result: Extract<PostResult, { ok: true }>, now: number): SendOutcome {
  if (result.status !== 200) return statusOutcome(result, now)
  let answer: { errcode?: unknown; errmsg?: unknown }
  try {
    answer = JSON.parse(result.body)
  } catch {
    return { type: "retry", error: `HTTP 200 but not a DingTalk answer: ${quoteBody(result.body)}` }
  }
  const code = answer?.errcode
  const what = `errcode ${String(code)} (${String(answer?.errmsg ?? "")})`
  if (code === 0) return { type: "sent" }
  if (code === 130101) {
    return {
      type: "throttled",
      error: `${what}: more than 20 messages a minute; DingTalk holds this robot for 10 minutes`,
      untilMs: now + DINGTALK_THROTTLE_MS,
    }
  }
  if (code === 310000) {
    return {
      type: "permanent",
      error: `${what}: the robot's security settings refused the message; check secret, keyword, the robot's IP allow-list and this host's clock`,
    }
  }
  if (code === 300001) return { type: "permanent", error: `${what}: access_token names no robot` }
  // other codes are not documented where we looked: retry, quoting DingTalk
  return { type: "retry", error: what }
}

/** A ChatTarget posting markdown to a DingTalk robot, signed per request, with msgUuid = the message's key. */
export function createDingTalkTarget(options: DingTalkOptions): ChatTarget {
  const now = options.now ?? Date.now
  const base = options.url ?? DINGTALK_URL
  const timeoutMs = options.timeoutMs ?? 10_000
  const maxMessageBytes = options.maxMessageBytes ?? DINGTALK_MAX_MESSAGE_BYTES
  return {
    name: options.name,
    type: "dingtalk",
    maxMessageBytes,
    async send(m, signal) {
      const markdown = dingTalkMarkdown(m, { keyword: options.keyword, maxBytes: maxMessageBytes })
      // a timestamp signed once would fail an hour later: sign every request
      const url = dingTalkUrl(base, options.accessToken, now(), options.secret)
      const body = { msgtype: "markdown", markdown, msgUuid: m.key }
      const result = await postJson(url, body, { proxy: options.proxy, timeoutMs, signal })
      return result.ok ? dingTalkOutcome(result, now()) : result.outcome
    },
  }
}
