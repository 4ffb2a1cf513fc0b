#!/usr/bin/env bun
/**
 * bench:fairness — how long one agent flooding tiny envelopes delays another agent's line.
 *
 * A real nats-server and the collector (in this process, via startCollector, with its defaults unless a flag says
 * otherwise) run. A child process signs N tiny envelopes of agent A, then publishes them as fast as JetStream
 * acknowledges them (a bounded window of outstanding PubAcks); right after A's last PubAck this process publishes
 * one line of agent B and polls /sql until the line is visible (only once A's backlog is nearly in: /sql runs on
 * the collector's event loop). Messages are delivered in stream order, so B waits behind A's backlog: its delay
 * is about backlog / ingest rate. Also measured: the collector's ingest rate and CPU per 1,000 envelopes
 * (process.cpuUsage, split into the JavaScript thread and the others), the DuckDB transactions (from /metrics),
 * the longest event-loop stall, and, outside the loop, what verification, header decoding and acks cost per
 * envelope. The machine's other load is reported beside the figures.
 *
 *   bun run bench:fairness [--envelopes 100000] [--batch-max-messages 64] [--max-ack-pending 256]
 *     [--lines-per-envelope 1] [--publish-window 256] [--runs 1] [--poll-ms 50] [--keep]
 *   (each flag also as BENCH_<NAME>). For a function-level profile of the collector add bun's --cpu-prof-md:
 *   bun --cpu-prof-md --cpu-prof-dir /tmp/prof scripts/bench/fairness.ts --envelopes 20000
 */
import { appendFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { jetstream } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { CollectorConfigSchema } from "../../collector/config/schema.ts"
import { loadEnrollment } from "../../collector/ingest/enrollment.ts"
import { startCollector } from "../../collector/service.ts"
import { parseConfig } from "../../shared/config/load.ts"
import { createLogger } from "../../shared/logger.ts"
import { formatPublicKeyLine, generateAgentKeyPair } from "../../shared/protocol/keys.ts"
import { type Costs, type Figures, printSummary, runRows, summaryJson } from "./fairness-report.ts"
import { counters, type Sample, transactionMs } from "./fairness-samples.ts"
import {
  cpuSeconds,
  envelopeHeaders,
  epochMs,
  type FloodSpec,
  TinyEnvelopes,
  watchFlood,
} from "./flood-publisher.ts"
import { measureAcks, measureToIncoming, measureVerify } from "./ingest-costs.ts"
import {
  benchDir,
  collectorDefaults,
  fmtInt,
  Options,
  onCleanup,
  printBlock,
  printLogFindings,
  readProc,
  runBench,
  sqlNumber,
  startNats,
} from "./lib.ts"
import { busyCores, loadAverage, machineCpu, StallMeter, threadCpu } from "./run-meters.ts"

const opts =
  new Options(`bench:fairness — delay of one agent's line behind another agent's flood of tiny envelopes

  --envelopes N           envelopes agent A floods (default 100000)
  --lines-per-envelope N  lines in each of A's envelopes (default 1)
  --batch-max-messages N  collector consumer.batch_max_messages (default: the config default)
  --max-ack-pending N     collector consumer.max_ack_pending (default: the config default)
  --publish-window N      PubAcks A may have outstanding (default 256)
  --runs N                repetitions, each on a fresh nats-server and DuckDB (default 1)
  --poll-ms N             interval of the /sql poll for B's line (default 50)
  --max-runtime-s N       hard limit for the whole bench (default runs x (120 + envelopes / 100))
  --keep                  keep the temp dir (DuckDB files, collector logs)`)

const DEFAULTS = collectorDefaults("nats://127.0.0.1:4222").consumer
const ENVELOPES = Math.max(1, Math.floor(opts.num("envelopes", 100_000)))
const LINES = Math.max(1, Math.floor(opts.num("lines-per-envelope", 1)))
const BATCH = Math.max(1, Math.floor(opts.num("batch-max-messages", DEFAULTS.batch_max_messages)))
const ACK_PENDING = Math.max(1, Math.floor(opts.num("max-ack-pending", DEFAULTS.max_ack_pending)))
const WINDOW = Math.max(1, Math.floor(opts.num("publish-window", 256)))
const RUNS = Math.max(1, Math.floor(opts.num("runs", 1)))
const POLL_MS = opts.num("poll-ms", 50)
const MAX_RUNTIME_S = opts.num("max-runtime-s", RUNS * (120 + ENVELOPES / 100))
const KEEP = opts.flag("keep")
const SAMPLE_MS = 200
const AGENT_A = "flood-a"
const AGENT_B = "quiet-b"

type Setup = { dir: string; pubPath: string; keyPath: string; b: TinyEnvelopes; probe: TinyEnvelopes }

async function runOnce(setup: Setup, run: number, costs: Costs): Promise<Figures> {
  const runDir = join(setup.dir, `run-${run}`)
  const logPath = join(setup.dir, `collector-${run}.log`)
  const loadAtStart = loadAverage()
  const nats = await startNats(join(runDir, "nats"))
  const natsCpuNow = () => (nats.pid ? (readProc(nats.pid)?.cpuSeconds ?? 0) : 0)
  const config = parseConfig(
    {
      data_dir: runDir,
      enrolled_keys: setup.pubPath,
      nats: { url: nats.url },
      http: { port: 0 },
      consumer: { batch_max_messages: BATCH, max_ack_pending: ACK_PENDING },
    },
    CollectorConfigSchema,
  )
  const collector = await startCollector(
    config,
    createLogger({ component: "collector", write: (line) => appendFileSync(logPath, `${line}\n`) }),
  )
  onCleanup(`collector ${run}`, () => collector.stop())
  const http = collector.httpUrl
  const nc = await connect({ servers: nats.url, name: "outpost-bench-fairness" })
  onCleanup(`bench connection ${run}`, () => nc.close())
  costs.ack ??= await measureAcks(nc, 20_000)
  costs.incomingUs ??= await measureToIncoming(
    nc,
    Array.from({ length: 3000 }, () => setup.probe.next(LINES)),
  )

  const spec: FloodSpec = {
    natsUrl: nats.url,
    privateKeyPath: setup.keyPath,
    agent: AGENT_A,
    envelopes: ENVELOPES,
    linesPerEnvelope: LINES,
    window: WINDOW,
  }
  const child = Bun.spawn(
    [process.execPath, join(import.meta.dir, "flood-publisher.ts"), JSON.stringify(spec)],
    {
      stdout: "pipe",
      stderr: "inherit",
    },
  )
  onCleanup(`publisher ${run}`, () => {
    if (child.exitCode === null) child.kill("SIGKILL")
  })
  const events = watchFlood(child.stdout)

  const signed = await events.wait("signed")
  const publishing = await events.wait("publishing")
  const atStart: Sample = { ...(await counters(http)), at: publishing.at }
  const threadsAtStart = threadCpu()
  const machineAtStart = machineCpu()
  const natsCpuAtStart = natsCpuNow()
  const stalls = new StallMeter()
  const samples: Sample[] = [atStart]
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      await Bun.sleep(SAMPLE_MS)
      samples.push(await counters(http))
    }
  })()

  const published = await events.wait("published")
  const atPublished = await counters(http)
  const backlog = ENVELOPES - atPublished.received

  // B's one line, right behind A's last envelope in the stream
  const bEnv = setup.b.next(1)
  const bSent = epochMs()
  await jetstream(nc).publish(bEnv.subject, bEnv.body, { msgID: bEnv.id, headers: envelopeHeaders(bEnv) })
  const bAcked = epochMs()
  const visibleSql = `SELECT count(*) AS n FROM logs WHERE agent = '${AGENT_B}'`
  // /sql runs on the collector's own event loop: poll it only once A's backlog is nearly ingested
  const pollFrom = ENVELOPES - 2000 - 2 * Math.min(BATCH, ACK_PENDING)
  let bVisible = 0
  const deadline = performance.now() + (MAX_RUNTIME_S + 60) * 1000
  while (performance.now() < deadline) {
    if ((samples[samples.length - 1]?.received ?? 0) < pollFrom) {
      await Bun.sleep(SAMPLE_MS / 4)
      continue
    }
    if (((await sqlNumber(http, visibleSql)) ?? 0) >= 1) {
      bVisible = epochMs()
      break
    }
    await Bun.sleep(POLL_MS)
  }
  if (bVisible === 0) throw new Error("B's line never became visible")
  const bReceivedAt =
    (await sqlNumber(http, `SELECT epoch_ms(received_at) AS n FROM envelopes WHERE agent = '${AGENT_B}'`)) ??
    Number.NaN
  // every envelope of A is in (they were ahead of B's in the stream)
  while ((samples[samples.length - 1]?.received ?? 0) < ENVELOPES + 1) await Bun.sleep(SAMPLE_MS)
  sampling = false
  await sampler
  const stall = stalls.stop()
  const machineAtEnd = machineCpu()
  const threadsAtEnd = threadCpu()
  const cpuAtEnd = cpuSeconds()
  const natsCpu = natsCpuNow() - natsCpuAtStart
  await child.exited
  await events.done

  const done = samples.find((s) => s.received >= ENVELOPES) as Sample
  const firstQuarter = transactionMs(samples, 0, ENVELOPES / 4)
  const lastQuarter = transactionMs(samples, (ENVELOPES * 3) / 4, ENVELOPES)
  const lines = await sqlNumber(http, `SELECT count(*) AS n FROM log_lines`)
  const sec = (ms: number) => ms / 1000
  const windowS = sec(done.at - atStart.at)
  const drainS = sec(done.at - atPublished.at)
  const drained = done.received - atPublished.received
  const drainRate = drainS > 0 && drained > 0 ? drained / drainS : Number.NaN
  const flushes = done.flushes - atStart.flushes
  const drainFlushes = done.flushes - atPublished.flushes
  const collectorCpu = done.cpu - atStart.cpu
  const drainCpu = done.cpu - atPublished.cpu
  const meteredS = (machineAtEnd.at - machineAtStart.at) / 1000
  const ours = (cpuAtEnd - atStart.cpu + published.cpuSeconds + natsCpu) / meteredS
  await collector.stop()
  await nc.close()
  await nats.stop()
  return {
    load_1m: loadAtStart,
    other_load_cores: busyCores(machineAtStart, machineAtEnd) - ours,
    sign_per_s: signed.envelopes / signed.seconds,
    publish_per_s: ENVELOPES / published.seconds,
    publish_s: published.seconds,
    publisher_cpu_s: published.cpuSeconds,
    duplicates: published.duplicates,
    backlog_at_last_puback: backlog,
    ingest_during_publish_per_s:
      (atPublished.received - atStart.received) / sec(atPublished.at - atStart.at || Number.NaN),
    ingest_drain_per_s: drainRate,
    ingest_overall_per_s: ENVELOPES / windowS,
    collector_cpu_s_per_1k: (collectorCpu / ENVELOPES) * 1000,
    collector_cpu_s_per_1k_drain: drained > 0 ? (drainCpu / drained) * 1000 : Number.NaN,
    collector_cores: collectorCpu / windowS,
    js_thread_cores: (threadsAtEnd.mainSeconds - threadsAtStart.mainSeconds) / meteredS,
    other_thread_cores: (threadsAtEnd.otherSeconds - threadsAtStart.otherSeconds) / meteredS,
    nats_cpu_s_per_1k: (natsCpu / ENVELOPES) * 1000,
    transactions: flushes,
    envelopes_per_transaction: (done.received - atStart.received) / Math.max(1, flushes),
    transaction_ms: ((done.flushSeconds - atStart.flushSeconds) / Math.max(1, flushes)) * 1000,
    transaction_ms_first_quarter: firstQuarter,
    transaction_ms_last_quarter: lastQuarter,
    drain_us_per_envelope: 1e6 / drainRate,
    drain_write_us_per_envelope:
      drained > 0 ? ((done.flushSeconds - atPublished.flushSeconds) / drained) * 1e6 : Number.NaN,
    drain_transactions_per_s: drainFlushes / drainS,
    b_puback_ms: bAcked - bSent,
    b_visible_s: sec(bVisible - bSent),
    b_received_s: sec(bReceivedAt - bSent),
    b_predicted_s: backlog / drainRate,
    stall_max_ms: stall.maxMs,
    stall_p99_ms: stall.p99Ms,
    stalls_over_100ms: stall.over100,
    lines_written: lines ?? Number.NaN,
  }
}

await runBench("bench:fairness", MAX_RUNTIME_S, async () => {
  const dir = benchDir("outpost-bench-fairness-", KEEP)
  const a = generateAgentKeyPair()
  const b = generateAgentKeyPair()
  const keyPath = join(dir, `${AGENT_A}.key`)
  const pubPath = join(dir, "agents.pub")
  writeFileSync(keyPath, a.privateKeyPem, { mode: 0o600 })
  writeFileSync(
    pubPath,
    `${formatPublicKeyLine(a.publicKeyRaw, AGENT_A)}\n${formatPublicKeyLine(b.publicKeyRaw, AGENT_B)}\n`,
  )
  console.log(
    `bench:fairness in ${dir}: ${fmtInt(ENVELOPES)} envelopes of ${LINES} line(s) from ${AGENT_A}, then 1 line from ${AGENT_B}; batch_max_messages ${BATCH}, max_ack_pending ${ACK_PENDING}, publish window ${WINDOW}, ${RUNS} run(s)`,
  )
  const verify = measureVerify(
    new TinyEnvelopes(a.privateKeyPem, AGENT_A, "/var/log/flood.log"),
    loadEnrollment(pubPath),
    3000,
    LINES,
  )
  const setup: Setup = {
    dir,
    pubPath,
    keyPath,
    b: new TinyEnvelopes(b.privateKeyPem, AGENT_B, "/var/log/b.log"),
    probe: new TinyEnvelopes(a.privateKeyPem, AGENT_A, "/var/log/probe.log"),
  }
  const costs: Costs = { verify }
  const all: Figures[] = []
  for (let run = 1; run <= RUNS; run++) {
    const figures = await runOnce(setup, run, costs)
    all.push(figures)
    printBlock(`run ${run} of ${RUNS}`, runRows(figures, costs))
    printLogFindings("collector", join(dir, `collector-${run}.log`))
  }
  if (RUNS > 1) printSummary(all)
  console.log(
    JSON.stringify(
      summaryJson(all, costs, {
        envelopes: ENVELOPES,
        lines_per_envelope: LINES,
        batch_max_messages: BATCH,
        max_ack_pending: ACK_PENDING,
        publish_window: WINDOW,
      }),
    ),
  )
  return 0
})
