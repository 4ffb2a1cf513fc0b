/** A matched log line as an alert shows it (and links to its neighbourhood on the agent). */
export type AlertLine = {
  text: string
  agent: string
  file: string
  gen: string
  offset: number
  /** end of the line's bytes (newline excluded), when known: the preview checks the line is still the same */
  end?: number
  at: number
}

/**
 * What raises alerts. `event` alerts (log matches, rejected envelopes) count occurrences and never resolve: their
 * group closes once quiet for a group_interval. `state` alerts (agent offline, URL down) fire and resolve.
 */
export type AlertSignal = {
  rule: string
  /** identify the alert within its rule: same labels, same alert */
  labels: Record<string, string>
  kind: "event" | "state"
  /** state alerts: firing or resolved; event alerts: always firing */
  status: "firing" | "resolved"
  at: number
  /** event alerts: occurrences this signal stands for (default 1) */
  count?: number
  line?: AlertLine
}

/** When a group speaks, as Alertmanager does it (ms). */
export type GroupTiming = {
  /** from a group's first alert to its first message: matches that follow it within this are in that message */
  groupWaitMs: number
  /** between messages of a group that changed */
  groupIntervalMs: number
  /** a reminder of a group still firing and unchanged */
  repeatIntervalMs: number
}

/** One alert of a group as a message shows it. */
export type AlertSummary = {
  fingerprint: string
  labels: Record<string, string>
  status: "firing" | "resolved"
  firstAt: number
  lastAt: number
  /** occurrences since the alert started (event alerts), 1 for state alerts */
  count: number
  /** the first matched line of the alert (log matches) */
  line?: AlertLine
}

/** A message a group is due to send: the engine stores one delivery per target, then sends it. */
export type GroupNotification = {
  groupKey: string
  rule: string
  groupLabels: Record<string, string>
  /** when the group's episode began: a group that ended and opens again is a new episode */
  openedAt: number
  /** the group's n-th message (1, 2, ...): with groupKey the idempotency key of the message */
  seq: number
  status: "firing" | "resolved"
  /** why now */
  reason: "first" | "changed" | "repeat" | "resolved"
  alerts: AlertSummary[]
  /** occurrences the message stands for: since the group opened, and since its previous message */
  count: number
  newCount: number
  /** the first few matched lines of the group */
  lines: AlertLine[]
  firstAt: number
  lastAt: number
  at: number
}
