/**
 * Tables of the `heartbeats` kind. `agent_heartbeats` holds every heartbeat (`files` and `behind_bytes` summed
 * over its sources, the whole entry in `body`); `agent_presence` the newest heartbeat of each agent (the highest
 * entry id: the order the agent made them in, whatever its clock did), so that a restart knows every agent
 * at once. Times: `sent_at` / `last_sent_at` and `started_at` on the agent's clock, `received_at` /
 * `last_received_at` on the collector's. The primary key (an ART index) is on the small table only: it is
 * upserted once per agent per batch, and the history is appended to without an index.
 */
export const HEARTBEATS_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS agent_heartbeats (
  agent VARCHAR NOT NULL, host VARCHAR NOT NULL, entry_id BIGINT NOT NULL, sent_at TIMESTAMP NOT NULL,
  received_at TIMESTAMP NOT NULL, version VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL, uptime_s DOUBLE NOT NULL,
  interval_s DOUBLE NOT NULL, files BIGINT NOT NULL, behind_bytes BIGINT NOT NULL, outbox_entries BIGINT,
  outbox_dropped BIGINT, nats_connected BOOLEAN NOT NULL, last_publish_at TIMESTAMP, last_publish_error VARCHAR,
  body JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS agent_presence (
  agent VARCHAR PRIMARY KEY, host VARCHAR NOT NULL, entry_id BIGINT NOT NULL, last_sent_at TIMESTAMP NOT NULL,
  last_received_at TIMESTAMP NOT NULL, version VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL,
  interval_s DOUBLE NOT NULL, preview_url VARCHAR
);
`
