/** One matched log line as a chat message shows it. */
export type MessageLine = { text: string; agent?: string; file?: string; offset?: number; at?: number }

/** One open group of a digest message. */
export type DigestGroup = { title: string; count: number; status: "firing" | "resolved" }

/** What the alert engine hands a target: one message, to be posted once. */
export type AlertMessage = {
  /** idempotency key: the same across retries and restarts (DingTalk's msgUuid, the webhook's Idempotency-Key) */
  key: string
  title: string
  status: "firing" | "resolved"
  severity?: string
  labels: Record<string, string>
  /** matches this message stands for */
  count: number
  /** the first few matched lines */
  lines: MessageLine[]
  /** the preview page of the lines */
  link?: string
  /** set when the engine folds the open groups into one summary message */
  digest?: { groups: DigestGroup[] }
  /** ms since the epoch */
  startsAt: number
  endsAt?: number
}

/**
 * How a send ended. `retry`: try again later (after `afterMs` if the server said so). `throttled`: the target's
 * budget is spent on the server's side until `untilMs` (ms since the epoch); send nothing to it before then.
 * `permanent`: the target is misconfigured or gone; stop sending to it and show `error` in /status.
 */
export type SendOutcome =
  | { type: "sent" }
  | { type: "retry"; error: string; afterMs?: number }
  | { type: "throttled"; error: string; untilMs: number }
  | { type: "permanent"; error: string }

/** A chat or webhook endpoint alerts are posted to. */
export type ChatTarget = {
  name: string
  type: "dingtalk" | "slack" | "webhook"
  /** posts one message; never throws (every failure is an outcome) */
  send(m: AlertMessage, signal?: AbortSignal): Promise<SendOutcome>
  /** the most a message may take, in UTF-8 bytes of its text (webhook: of its JSON body); longer is cut */
  maxMessageBytes: number
}
