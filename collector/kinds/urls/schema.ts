import { type Static, Type as T } from "@sinclair/typebox"

/** `[urls]`: how URL check results become states (thresholds as Gatus's). */
export const UrlsConfigSchema = T.Object(
  {
    failure_threshold: T.Integer({
      minimum: 1,
      maximum: 1000,
      default: 3,
      description: "consecutive results not up before an agent's check is judged down or degraded (1-1000)",
    }),
    success_threshold: T.Integer({
      minimum: 1,
      maximum: 1000,
      default: 2,
      description: "consecutive up results before an agent's check is judged up again (1-1000)",
    }),
    site_quorum: T.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 1,
      description:
        "fraction (0-1] of the agents with a known state for a URL that must be down for the site to be down",
    }),
  },
  { additionalProperties: false, default: {} },
)
export type UrlsConfig = Static<typeof UrlsConfigSchema>

/** What an empty `[urls]` section means. */
export const URLS_CONFIG_DEFAULTS: UrlsConfig = { failure_threshold: 3, success_threshold: 2, site_quorum: 1 }

/**
 * Tables of the `urls` kind. `url_checks` holds every result (`judged` false: it arrived older than the last
 * judged result of its agent and check, so it did not move the state); `url_state_changes` every judged change
 * (agent NULL and scope 'site' for the judgement across agents); `url_check_state` and `url_site_state` the
 * current state, so that a restart goes on where it stopped. No ART indexes: they slow the appender and the
 * queries filter on started_at, which zone maps already skip on since results arrive roughly in time order.
 */
export const URLS_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS url_checks (
  agent VARCHAR NOT NULL, host VARCHAR NOT NULL, "check" VARCHAR NOT NULL, url VARCHAR NOT NULL,
  started_at TIMESTAMP NOT NULL, dns_ms DOUBLE, connect_ms DOUBLE, tls_ms DOUBLE, first_byte_ms DOUBLE,
  transfer_ms DOUBLE, total_ms DOUBLE NOT NULL, status INTEGER, bytes BIGINT NOT NULL, redirects INTEGER NOT NULL,
  cert_expires_at TIMESTAMP, outcome VARCHAR NOT NULL, reason VARCHAR, message VARCHAR, entry_id BIGINT NOT NULL,
  received_at TIMESTAMP NOT NULL, judged BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS url_state_changes (
  agent VARCHAR, "check" VARCHAR NOT NULL, url VARCHAR NOT NULL, changed_at TIMESTAMP NOT NULL, from_state VARCHAR NOT NULL,
  to_state VARCHAR NOT NULL, reason VARCHAR, consecutive INTEGER NOT NULL, scope VARCHAR NOT NULL,
  detail VARCHAR NOT NULL, received_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS url_check_state (
  agent VARCHAR NOT NULL, "check" VARCHAR NOT NULL, url VARCHAR NOT NULL, state VARCHAR NOT NULL,
  last_started_at TIMESTAMP NOT NULL, run_outcome VARCHAR NOT NULL, run INTEGER NOT NULL,
  non_up_run INTEGER NOT NULL, down_in_run BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS url_site_state (url VARCHAR NOT NULL, state VARCHAR NOT NULL);
`
