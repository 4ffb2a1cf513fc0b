/** Version of the DuckDB layout below; stored in `outpost_meta`. */
export const SCHEMA_VERSION = 1

/** Tables the collector writes. `logs` is the view to query; `log_lines` keeps only a file id per row for speed. */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS outpost_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS log_files (
  file_id BIGINT PRIMARY KEY, agent VARCHAR NOT NULL, host VARCHAR NOT NULL, path VARCHAR NOT NULL,
  gen VARCHAR NOT NULL, first_seen TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS log_lines (
  file_id BIGINT NOT NULL, "offset" BIGINT NOT NULL, line VARCHAR NOT NULL, truncated BOOLEAN NOT NULL,
  rule VARCHAR, read_at TIMESTAMP NOT NULL, received_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS log_coverage (file_id BIGINT NOT NULL, start_offset BIGINT NOT NULL, end_offset BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS envelopes (
  agent VARCHAR NOT NULL, seq BIGINT NOT NULL, host VARCHAR NOT NULL, kind VARCHAR NOT NULL, entries INTEGER NOT NULL,
  bytes INTEGER NOT NULL, sent_at TIMESTAMP NOT NULL, received_at TIMESTAMP NOT NULL, stream_seq BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS processing_errors (
  received_at TIMESTAMP NOT NULL, reason VARCHAR NOT NULL, message VARCHAR NOT NULL, subject VARCHAR NOT NULL,
  agent VARCHAR, headers JSON NOT NULL, size INTEGER NOT NULL, stream_seq BIGINT
);
CREATE TABLE IF NOT EXISTS entry_coverage (
  agent VARCHAR NOT NULL, kind VARCHAR NOT NULL, start_id BIGINT NOT NULL, end_id BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS entry_gaps (
  agent VARCHAR NOT NULL, kind VARCHAR NOT NULL, dropped BIGINT NOT NULL, before_id BIGINT NOT NULL,
  received_at TIMESTAMP NOT NULL
);
CREATE OR REPLACE VIEW logs AS
  SELECT f.agent, f.host, f.path AS file, f.gen, l."offset", l.line, l.truncated, l.rule, l.read_at, l.received_at
  FROM log_lines l JOIN log_files f USING (file_id);
CREATE TEMP TABLE IF NOT EXISTS log_stage (
  part_id INTEGER NOT NULL, file_id BIGINT NOT NULL, o BIGINT NOT NULL, raw BOOLEAN NOT NULL, block BLOB, text VARCHAR,
  truncated BOOLEAN NOT NULL, rule VARCHAR, read_at TIMESTAMP NOT NULL
);
`

/**
 * Moves staged parts into log_lines. Raw blocks are first split on newlines into a temp table (one row per line,
 * so the insert that follows spans many row groups and runs on every core), then offsets are summed per block.
 */
export const UNSTAGE_STATEMENTS = [
  `CREATE OR REPLACE TEMP TABLE log_split AS
     SELECT part_id, file_id, o, truncated, rule, read_at, unnest(l) AS line, generate_subscripts(l, 1) AS idx
     FROM (SELECT *, string_split(decode(block), chr(10)) AS l FROM log_stage WHERE raw)`,
  `INSERT INTO log_lines
     SELECT file_id, o + sum(strlen(line) + 1) OVER (PARTITION BY part_id ORDER BY idx) - strlen(line) - 1,
            line, truncated, rule, read_at, $received_at
     FROM log_split
     UNION ALL
     SELECT file_id, o, text, truncated, rule, read_at, $received_at FROM log_stage WHERE NOT raw`,
  "DELETE FROM log_stage",
  "DROP TABLE log_split",
] as const
