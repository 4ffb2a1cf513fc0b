import type { DuckDBConnection } from "@duckdb/node-api"
import { microsOf as us } from "../sinks/duckdb/timestamps.ts"
import type { AlertGroup } from "./grouper.ts"
import type { GroupNotification } from "./types.ts"

/**
 * `alerts`: one row per alert and episode (fingerprint + the group's opened_at), updated with each message that
 * carries it: the history Alertmanager does not keep. `alert_groups`: the open groups as the grouper holds them,
 * so a restart goes on with the same episodes, counts and message numbers (the idempotency keys) instead of
 * announcing every open alert again.
 */
export const ALERTS_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS alerts (
  fingerprint VARCHAR NOT NULL, opened_at TIMESTAMP NOT NULL, rule VARCHAR NOT NULL, group_key VARCHAR NOT NULL,
  labels JSON NOT NULL, status VARCHAR NOT NULL, first_at TIMESTAMP NOT NULL, last_at TIMESTAMP NOT NULL,
  count BIGINT NOT NULL, messages INTEGER NOT NULL, last_message_at TIMESTAMP NOT NULL,
  line_agent VARCHAR, line_file VARCHAR, line_gen VARCHAR, line_offset BIGINT,
  PRIMARY KEY (fingerprint, opened_at)
);
CREATE TABLE IF NOT EXISTS alert_groups (
  group_key VARCHAR PRIMARY KEY, state JSON NOT NULL, saved_at TIMESTAMP NOT NULL
);
`

type SavedGroup = Omit<AlertGroup, "alerts"> & {
  alerts: [string, AlertGroup["alerts"] extends Map<string, infer A> ? A : never][]
}

/** The alert history and the open groups, on the connection the deliveries use (one transaction for both). */
export class AlertHistory {
  private constructor(private readonly conn: DuckDBConnection) {}

  static async open(conn: DuckDBConnection): Promise<AlertHistory> {
    await conn.run(ALERTS_SCHEMA_SQL)
    return new AlertHistory(conn)
  }

  /** Runs `work` in one transaction: the messages, their deliveries and the groups are saved together or not at all. */
  async transaction(work: () => Promise<void>): Promise<void> {
    await this.conn.run("BEGIN TRANSACTION")
    try {
      await work()
      await this.conn.run("COMMIT")
    } catch (error) {
      await this.conn.run("ROLLBACK").catch(() => {})
      throw error
    }
  }

  /** Each alert of each message, inserted or brought up to date. */
  async record(messages: readonly GroupNotification[]): Promise<void> {
    for (const n of messages) {
      for (const a of n.alerts) {
        await this.conn.run(
          `INSERT INTO alerts VALUES ($fp, make_timestamp($opened::BIGINT), $rule, $group, $labels, $status,
             make_timestamp($first::BIGINT), make_timestamp($last::BIGINT), $count, 1, make_timestamp($at::BIGINT),
             $agent, $file, $gen, $offset)
           ON CONFLICT DO UPDATE SET status = excluded.status, last_at = excluded.last_at, count = excluded.count,
             messages = alerts.messages + 1, last_message_at = excluded.last_message_at`,
          {
            fp: a.fingerprint,
            opened: us(n.openedAt),
            rule: n.rule,
            group: n.groupKey,
            labels: JSON.stringify(a.labels),
            status: a.status,
            first: us(a.firstAt),
            last: us(a.lastAt),
            count: a.count,
            at: us(n.at),
            agent: a.line?.agent ?? null,
            file: a.line?.file ?? null,
            gen: a.line?.gen ?? null,
            offset: a.line?.offset ?? null,
          },
        )
      }
    }
  }

  /** Replaces the saved groups with `groups` (the few open ones). */
  async saveGroups(groups: readonly AlertGroup[], now: number): Promise<void> {
    await this.conn.run("DELETE FROM alert_groups")
    for (const g of groups) {
      const saved: SavedGroup = { ...g, alerts: [...g.alerts.entries()] }
      await this.conn.run("INSERT INTO alert_groups VALUES ($key, $state, make_timestamp($now::BIGINT))", {
        key: g.key,
        state: JSON.stringify(saved),
        now: us(now),
      })
    }
  }

  /** The groups open at the last save. */
  async loadGroups(): Promise<AlertGroup[]> {
    const reader = await this.conn.runAndReadAll("SELECT state FROM alert_groups ORDER BY group_key")
    return reader.getRows().map(([state]) => {
      const saved = JSON.parse(String(state)) as SavedGroup
      return { ...saved, alerts: new Map(saved.alerts) }
    })
  }
}
