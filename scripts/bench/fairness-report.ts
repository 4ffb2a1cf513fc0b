/** How bench:fairness prints a run, the summary over runs, and its JSON line. */
import type { AckCosts, VerifyCosts } from "./ingest-costs.ts"
import { fmtInt, printBlock, type Row, round } from "./lib.ts"

/** One run's figures, flat, so runs can be summarized figure by figure. */
export type Figures = Record<string, number>

/** Per-envelope costs measured outside the loop, once per invocation. */
export type Costs = { verify: VerifyCosts; ack?: AckCosts; incomingUs?: number }

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a")
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "n/a")
const int = (n: number) => (Number.isFinite(n) ? fmtInt(n) : "n/a")

/** The figures of one run, with where the time per envelope went after A stopped publishing. */
export function runRows(f: Figures, costs: Costs): Row[] {
  const verify = costs.verify
  const v = (k: string) => f[k] ?? Number.NaN
  const ack = costs.ack ?? { publishUs: Number.NaN, flushUs: Number.NaN }
  const incomingUs = costs.incomingUs ?? Number.NaN
  const ackUs = ack.publishUs + ack.flushUs / v("envelopes_per_transaction")
  const rest =
    v("drain_us_per_envelope") - v("drain_write_us_per_envelope") - verify.judgeUs - ackUs - incomingUs
  return [
    ["machine", `load ${f2(v("load_1m"))} at start; other work ${f2(v("other_load_cores"))} cores`],
    ["A signing (child, before publishing)", `${int(v("sign_per_s"))} envelopes/s`],
    [
      "A publish",
      `${int(v("publish_per_s"))} envelopes/s (${f2(v("publish_s"))} s, ${f2(v("publisher_cpu_s"))} CPU-s, ${int(v("duplicates"))} duplicates)`,
    ],
    ["backlog at A's last PubAck", `${int(v("backlog_at_last_puback"))} envelopes`],
    [
      "collector ingest",
      `${int(v("ingest_overall_per_s"))} envelopes/s overall; ${int(v("ingest_during_publish_per_s"))}/s while A publishes, ${int(v("ingest_drain_per_s"))}/s after`,
    ],
    [
      "collector CPU",
      `${f2(v("collector_cpu_s_per_1k"))} CPU-s per 1,000 envelopes (${f2(v("collector_cpu_s_per_1k_drain"))} after A stopped); ${f2(v("collector_cores"))} cores: JS thread ${f2(v("js_thread_cores"))}, other threads ${f2(v("other_thread_cores"))}`,
    ],
    ["nats-server CPU", `${f2(v("nats_cpu_s_per_1k"))} CPU-s per 1,000 envelopes`],
    [
      "DuckDB transactions",
      `${int(v("transactions"))}, ${f1(v("envelopes_per_transaction"))} envelopes and ${f1(v("transaction_ms"))} ms each (${f1(v("transaction_ms_first_quarter"))} ms in the first quarter of A's envelopes, ${f1(v("transaction_ms_last_quarter"))} in the last)`,
    ],
    [
      "B's line",
      `visible ${f2(v("b_visible_s"))} s after its publish (batch began ${f2(v("b_received_s"))} s after; PubAck ${f1(v("b_puback_ms"))} ms); backlog / drain rate predicts ${f2(v("b_predicted_s"))} s`,
    ],
    [
      "event loop",
      `longest stall ${int(v("stall_max_ms"))} ms, p99 gap ${f1(v("stall_p99_ms"))} ms, ${int(v("stalls_over_100ms"))} gaps over 100 ms`,
    ],
    ["per envelope after A stopped (µs)", `${f1(v("drain_us_per_envelope"))} wall`],
    ["  DuckDB transaction", f1(v("drain_write_us_per_envelope"))],
    [
      "  verify (judgeMessage, measured alone)",
      `${f1(verify.judgeUs)} (Ed25519 ${f1(verify.ed25519Us)}, SHA-256 ${f1(verify.sha256Us)})`,
    ],
    ["  toIncoming: NATS headers (measured alone)", f1(incomingUs)],
    [
      "  ack (measured alone)",
      `${f1(ackUs)} (${f1(ack.publishUs)} per ack + flush ${f1(ack.flushUs)} / batch)`,
    ],
    ["  rest (batch waits, delivery, staging, HTTP, GC)", f1(rest)],
    ["lines in DuckDB", int(v("lines_written"))],
  ]
}

export function median(values: number[]): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** min / median / max of every figure over the runs. */
export function printSummary(all: Figures[]): void {
  const keys = Object.keys(all[0] ?? {})
  printBlock(
    `min / median / max over ${all.length} runs`,
    keys.map((k) => {
      const vals = all.map((f) => f[k] ?? Number.NaN).filter(Number.isFinite)
      return [k, `${f2(Math.min(...vals))} / ${f2(median(vals))} / ${f2(Math.max(...vals))}`]
    }),
  )
}

/** Every run's figures, their medians and the costs measured alone, as one JSON object. */
export function summaryJson(all: Figures[], costs: Costs, params: Record<string, number>) {
  const keys = Object.keys(all[0] ?? {})
  return {
    bench: "fairness",
    ...params,
    runs: all.map((f) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, round(v, 3)]))),
    median: Object.fromEntries(keys.map((k) => [k, round(median(all.map((f) => f[k] ?? Number.NaN)), 2)])),
    verify_us: {
      judge: round(costs.verify.judgeUs),
      ed25519: round(costs.verify.ed25519Us),
      sha256: round(costs.verify.sha256Us),
    },
    ack_us: {
      publish: round(costs.ack?.publishUs ?? Number.NaN),
      flush: round(costs.ack?.flushUs ?? Number.NaN),
    },
    to_incoming_us: round(costs.incomingUs ?? Number.NaN),
  }
}
