/**
 * One row per message and target: the history Alertmanager does not keep, and the queue the delivery worker
 * works from, so a chat outage or a collector restart loses nothing. `state`: pending (to be sent at
 * `next_attempt_at`), sent, or permanent (the target refused it for good, or was stopped). The key is the
 * message's idempotency key (DingTalk's msgUuid): a retry after a timeout that did reach the chat is not
 * posted twice where the chat honours it.
 */
export const DELIVERIES_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS alert_deliveries (
  message_key VARCHAR NOT NULL, target VARCHAR NOT NULL, group_key VARCHAR NOT NULL, rule VARCHAR NOT NULL,
  status VARCHAR NOT NULL, state VARCHAR NOT NULL, attempts INTEGER NOT NULL, created_at TIMESTAMP NOT NULL,
  next_attempt_at TIMESTAMP NOT NULL, sent_at TIMESTAMP, last_error VARCHAR, message JSON NOT NULL,
  PRIMARY KEY (message_key, target)
);
`
