import { createHash } from "node:crypto"
import { cutUtf8, utf8Bytes } from "./fit.ts"
import { totalLines } from "./format.ts"
import { postJson, statusOutcome } from "./http-post.ts"
import type { AlertMessage, ChatTarget, DigestGroup, MessageLine } from "./types.ts"

/** JSON body bytes per message. */
export const WEBHOOK_MAX_MESSAGE_BYTES = 256 * 1024
/** The most UTF-8 bytes of one line's text in the payload. */
const WEBHOOK_LINE_MAX_BYTES = 4096
/** Alertmanager's `endsAt` of an alert that has not ended. */
const NOT_ENDED = "0001-01-01T00:00:00Z"

/** A generic JSON webhook, sent Alertmanager's webhook payload. */
export type WebhookOptions = {
  name: string
  url: string
  /** sent with every request, e.g. Authorization */
  headers?: Record<string, string>
  proxy?: string
  /** default 10 s */
  timeoutMs?: number
  maxMessageBytes?: number
  now?: () => number
}

/** One alert of the payload, as Alertmanager has it. */
export type WebhookAlert = {
  status: "firing" | "resolved"
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL: string
  fingerprint: string
}

/** Alertmanager's webhook payload (version 4) plus `outpost`: the count and the lines themselves. */
export type WebhookPayload = {
  version: "4"
  groupKey: string
  status: "firing" | "resolved"
  receiver: string
  groupLabels: Record<string, string>
  commonLabels: Record<string, string>
  commonAnnotations: Record<string, string>
  externalURL: string
  alerts: WebhookAlert[]
  outpost: {
    key: string
    title: string
    count: number
    lines: MessageLine[]
    /** lines the message stands for that are not in `lines` */
    omittedLines: number
    link?: string
    digest?: { groups: DigestGroup[] }
  }
}

/** 16 hex digits naming a label set (sha256 of the sorted labels; not Alertmanager's own hash). */
export function fingerprint(labels: Record<string, string>): string {
  const hash = createHash("sha256")
  for (const [k, v] of Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    hash.update(`${k}\u00ff${v}\u00ff`)
  }
  return hash.digest("hex").slice(0, 16)
}

/** The payload of `m` for receiver `receiver`, within `maxBytes` of JSON (lines dropped from the end first). */
export function webhookPayload(m: AlertMessage, receiver: string, maxBytes: number): WebhookPayload {
  const labels: Record<string, string> = { alertname: m.title, ...m.labels }
  if (m.severity !== undefined && labels.severity === undefined) labels.severity = m.severity
  const at = (ms: number | undefined) => (ms === undefined ? NOT_ENDED : new Date(ms).toISOString())
  const generatorURL = m.link ?? ""
  const alert = (status: WebhookAlert["status"], l: Record<string, string>, a: Record<string, string>) => ({
    status,
    labels: l,
    annotations: a,
    startsAt: at(m.startsAt),
    endsAt: at(m.endsAt),
    generatorURL,
    fingerprint: fingerprint(l),
  })
  const alerts = m.digest
    ? m.digest.groups.map((g) =>
        alert(g.status, { alertname: g.title }, { summary: g.title, count: String(g.count) }),
      )
    : [alert(m.status, labels, { summary: m.title, count: String(m.count) })]
  const lines = m.lines.map((l) => ({ ...l, text: cutUtf8(l.text, WEBHOOK_LINE_MAX_BYTES) }))
  const payload: WebhookPayload = {
    version: "4",
    groupKey: m.key,
    status: m.status,
    receiver,
    groupLabels: m.labels,
    commonLabels: m.digest ? {} : labels,
    commonAnnotations: m.digest ? {} : { summary: m.title },
    externalURL: m.link !== undefined && URL.canParse(m.link) ? new URL(m.link).origin : "",
    alerts,
    outpost: {
      key: m.key,
      title: m.title,
      count: m.count,
      lines,
      omittedLines: totalLines(m) - lines.length,
      ...(m.link === undefined ? {} : { link: m.link }),
      ...(m.digest ? { digest: m.digest } : {}),
    },
  }
  // lines are what can be long; the rest is the alert itself and is sent whole
  while (payload.outpost.lines.length > 0 && utf8Bytes(JSON.stringify(payload)) > maxBytes) {
    payload.outpost.lines.pop()
    payload.outpost.omittedLines++
  }
  return payload
}

/** A ChatTarget posting Alertmanager-shaped JSON; the message key goes along as `Idempotency-Key`. */
export function createWebhookTarget(options: WebhookOptions): ChatTarget {
  const now = options.now ?? Date.now
  const timeoutMs = options.timeoutMs ?? 10_000
  const maxMessageBytes = options.maxMessageBytes ?? WEBHOOK_MAX_MESSAGE_BYTES
  return {
    name: options.name,
    type: "webhook",
    maxMessageBytes,
    async send(m, signal) {
      const body = webhookPayload(m, options.name, maxMessageBytes)
      const headers = { "idempotency-key": m.key, ...options.headers }
      const result = await postJson(options.url, body, { headers, proxy: options.proxy, timeoutMs, signal })
      if (!result.ok) return result.outcome
      return result.status >= 200 && result.status < 300 ? { type: "sent" } : statusOutcome(result, now())
    },
  }
}
