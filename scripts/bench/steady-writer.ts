/** The load of bench:latency: lines stamped with their write time, appended at a steady rate, and a poller. */
import { appendFileSync } from "node:fs"
import { querySql } from "./lib.ts"

const PATHS = ["/", "/index.html", "/api/v1/items", "/ads/serve", "/ads/click", "/cart", "/login"]
const line = (ts: number, seq: number) =>
  `ts=${ts} seq=${seq} 10.0.${seq % 256}.${(seq >> 8) % 256} "GET ${PATHS[seq % PATHS.length]}?id=${seq % 99991} HTTP/1.1" 200 ${seq % 90000} "Mozilla/5.0 (X11; Linux x86_64)"\n`

export type SqlLatency = Record<string, number | null>

/** Per-line latency figures of the stamped lines, computed by DuckDB. */
export const LATENCY_SQL = `
WITH l AS (
  SELECT regexp_extract(line, 'ts=(\\d+)', 1)::BIGINT AS w, epoch_ms(read_at) AS r, epoch_ms(received_at) AS c,
         regexp_extract(line, 'seq=(\\d+)', 1)::BIGINT AS s
  FROM logs WHERE line LIKE 'ts=%')
SELECT count(*) AS n, count(DISTINCT s) AS distinct_n, min(s) AS min_seq, max(s) AS max_seq,
       quantile_disc(c - w, 0.5) AS p50, quantile_disc(c - w, 0.9) AS p90, quantile_disc(c - w, 0.99) AS p99,
       max(c - w) AS max, min(c - w) AS min, avg(c - w) AS avg,
       quantile_disc(r - w, 0.5) AS read_p50, quantile_disc(r - w, 0.99) AS read_p99, max(r - w) AS read_max,
       quantile_disc(c - r, 0.5) AS ship_p50, quantile_disc(c - r, 0.99) AS ship_p99, max(c - r) AS ship_max,
       arg_max(s, c - w) AS worst_seq, arg_max(s, r - w) AS worst_read_seq, count(*) FILTER (c - w > 500) AS over_500
FROM l`

export type SteadyLoad = {
  logPath: string
  rate: number
  seconds: number
  appendMs: number
  httpUrl: string
  pollMs: number
}

/**
 * Appends `rate` lines/s for `seconds` in appends every `appendMs`, while polling the collector every `pollMs`
 * for the newest visible line (how long after its write it became queryable).
 */
export async function writeSteadily(load: SteadyLoad) {
  const { logPath, rate: RATE, seconds: SECONDS, appendMs: APPEND_MS, httpUrl: http, pollMs: POLL_MS } = load
  const total = Math.round(RATE * SECONDS)
  let written = 0
  let appends = 0
  let maxGapMs = 0
  let writing = true

  const writer = (async () => {
    const start = Date.now()
    let last = start
    while (written < total) {
      const now = Date.now()
      maxGapMs = Math.max(maxGapMs, now - last)
      last = now
      const due = Math.min(total, Math.floor((RATE * (now - start)) / 1000))
      if (due > written) {
        let text = ""
        for (let seq = written; seq < due; seq++) {
          text += line(now, seq)
        }
        appendFileSync(logPath, text)
        written = due
        appends++
      }
      await Bun.sleep(APPEND_MS)
    }
    writing = false
    return (Date.now() - start) / 1000
  })()

  const polled: number[] = []
  const pollRtt: number[] = []
  const poller = (async () => {
    let lastSeq = -1
    while (writing) {
      const asked = Date.now()
      try {
        const rows = await querySql(
          http,
          `SELECT line FROM log_lines WHERE "offset" = (SELECT max("offset") FROM log_lines)`,
        )
        const now = Date.now()
        pollRtt.push(now - asked)
        const m = /^ts=(\d+) seq=(\d+)/.exec(String(rows[0]?.line ?? ""))
        if (m) {
          const seq = Number(m[2])
          if (seq > lastSeq) {
            polled.push(now - Number(m[1]))
            lastSeq = seq
          }
        }
      } catch {
        // collector busy or gone; the drain below reports it
      }
      await Bun.sleep(Math.max(0, POLL_MS - (Date.now() - asked)))
    }
  })()
  const writeSeconds = await writer
  await poller
  return { written, appends, maxGapMs, writeSeconds, polled, pollRtt }
}
