import { BIGINT, type DuckDBConnection, VARCHAR } from "@duckdb/node-api"
import { microsOf as us } from "../../sinks/duckdb/timestamps.ts"
import type { AlertMessage } from "../targets/index.ts"
import { DELIVERIES_SCHEMA_SQL } from "./schema.ts"

export type DeliveryState = "pending" | "sent" | "permanent"

/** A message due for one target, as the worker sends it. */
export type DueDelivery = { key: string; target: string; attempts: number; message: AlertMessage }

/** A message to deliver: its group and rule (for the history), and to which targets. */
export type NewDelivery = {
  groupKey: string
  rule: string
  message: AlertMessage
  targets: readonly string[]
}

/**
 * `alert_deliveries` on a DuckDB connection of its own: every message is stored for each of its targets before
 * anything is sent, each send's outcome is stored after it. Enqueueing the same message key again adds nothing.
 */
export class DeliveryStore {
  /** counts enqueue calls: what the worker read of the table is stale once it moved */
  enqueued = 0

  private constructor(private readonly conn: DuckDBConnection) {}

  static async open(conn: DuckDBConnection): Promise<DeliveryStore> {
    await conn.run(DELIVERIES_SCHEMA_SQL)
    return new DeliveryStore(conn)
  }

  async enqueue(deliveries: readonly NewDelivery[], now: number): Promise<void> {
    this.enqueued++
    for (const d of deliveries) {
      for (const target of d.targets) {
        await this.conn.run(
          `INSERT INTO alert_deliveries VALUES ($key, $target, $group, $rule, $status, 'pending', 0,
             make_timestamp($now::BIGINT), make_timestamp($now::BIGINT), NULL, NULL, $message)
           ON CONFLICT DO NOTHING`,
          {
            key: d.message.key,
            target,
            group: d.groupKey,
            rule: d.rule,
            status: d.message.status,
            now: us(now),
            message: JSON.stringify(d.message),
          },
        )
      }
    }
  }

  /** Pending deliveries due at `now`, oldest first. */
  async due(now: number, limit = 100): Promise<DueDelivery[]> {
    const reader = await this.conn.runAndReadAll(
      `SELECT message_key, target, attempts, message FROM alert_deliveries
       WHERE state = 'pending' AND next_attempt_at <= make_timestamp($now::BIGINT)
       ORDER BY created_at, message_key, target LIMIT $limit`,
      { now: us(now), limit },
    )
    return reader.getRows().map(([key, target, attempts, message]) => ({
      key: String(key),
      target: String(target),
      attempts: Number(attempts),
      message: JSON.parse(String(message)) as AlertMessage,
    }))
  }

  /** When the soonest pending delivery is due (ms), or undefined when none is pending. */
  async nextDueAt(): Promise<number | undefined> {
    const reader = await this.conn.runAndReadAll(
      "SELECT epoch_ms(min(next_attempt_at)) FROM alert_deliveries WHERE state = 'pending'",
    )
    const v = reader.getRows()[0]?.[0]
    return v === null || v === undefined ? undefined : Number(v)
  }

  async sent(key: string, target: string, now: number): Promise<void> {
    await this.settle(key, target, "sent", null, now, now)
  }

  async retry(key: string, target: string, error: string, nextAt: number): Promise<void> {
    await this.settle(key, target, "pending", error, nextAt, null)
  }

  async permanent(key: string, target: string, error: string, now: number): Promise<void> {
    await this.settle(key, target, "permanent", error, now, null)
  }

  /** Deliveries by target and state (for /status and /metrics). */
  async counts(): Promise<{ target: string; state: DeliveryState; n: number }[]> {
    const reader = await this.conn.runAndReadAll(
      "SELECT target, state, count(*) FROM alert_deliveries GROUP BY ALL ORDER BY ALL",
    )
    return reader.getRows().map(([target, state, n]) => ({
      target: String(target),
      state: String(state) as DeliveryState,
      n: Number(n),
    }))
  }

  private async settle(
    key: string,
    target: string,
    state: DeliveryState,
    error: string | null,
    nextAt: number,
    sentAt: number | null,
  ): Promise<void> {
    await this.conn.run(
      `UPDATE alert_deliveries SET state = $state, attempts = attempts + 1, last_error = $error,
         next_attempt_at = make_timestamp($next::BIGINT),
         sent_at = CASE WHEN $sent IS NULL THEN NULL ELSE make_timestamp($sent::BIGINT) END
       WHERE message_key = $key AND target = $target`,
      { key, target, state, error, next: us(nextAt), sent: sentAt === null ? null : us(sentAt) },
      { key: VARCHAR, target: VARCHAR, state: VARCHAR, error: VARCHAR, next: BIGINT, sent: BIGINT },
    )
  }
}
