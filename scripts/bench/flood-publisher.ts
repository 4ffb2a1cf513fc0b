#!/usr/bin/env bun
/**
 * Child process of bench:fairness: one agent's flood. Signs `envelopes` tiny logs envelopes first (so signing is
 * not what limits the rate), then publishes them as fast as JetStream acknowledges, with at most `window` PubAcks
 * outstanding. Reports its progress as JSON lines (`FloodEvent`) on stdout.
 *
 *   bun scripts/bench/flood-publisher.ts '<FloodSpec as JSON>'
 */
import { readFileSync } from "node:fs"
import { jetstream } from "@nats-io/jetstream"
import { connect, type MsgHdrs, headers as natsHeaders } from "@nats-io/transport-node"
import { type SignedEnvelope, signEnvelope } from "../../shared/protocol/envelope.ts"
import { keyId, loadPrivateKey } from "../../shared/protocol/keys.ts"
import { encodeLogsBody } from "../../shared/protocol/logs-body.ts"

/** What the child is asked to publish. */
export type FloodSpec = {
  natsUrl: string
  privateKeyPath: string
  agent: string
  envelopes: number
  linesPerEnvelope: number
  /** most PubAcks outstanding at once */
  window: number
}

/** Progress lines of the child; times are epoch milliseconds with sub-millisecond precision. */
export type FloodEvent =
  | { type: "signed"; envelopes: number; bytes: number; seconds: number; cpuSeconds: number }
  | { type: "publishing"; at: number }
  | { type: "published"; at: number; seconds: number; duplicates: number; cpuSeconds: number }
  | { type: "error"; message: string }

/** Wall clock in epoch milliseconds, comparable across processes on one machine. */
export const epochMs = () => performance.timeOrigin + performance.now()

/** User + system CPU seconds of this process so far. */
export const cpuSeconds = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

const te = new TextEncoder()

/** Consecutive envelopes of one log file of one agent, signed as the agent signs them (seq 1, 2, ...). */
export class TinyEnvelopes {
  private seq = 1
  private offset = 0
  private readonly key: ReturnType<typeof loadPrivateKey>
  private readonly keyId: string

  constructor(
    privateKeyPem: string,
    readonly agent: string,
    readonly path: string,
  ) {
    this.key = loadPrivateKey(privateKeyPem)
    this.keyId = keyId(this.key.publicKeyRaw)
  }

  /** The next envelope: `lines` short access-log-like lines in one raw part. */
  next(lines: number): SignedEnvelope {
    const seq = this.seq++
    let text = ""
    for (let i = 0; i < lines; i++) text += `${this.agent} GET /item/${seq}/${i} 200 ${seq % 997}\n`
    const bytes = te.encode(text)
    const o = this.offset
    this.offset += bytes.length
    const now = Date.now()
    const body = encodeLogsBody(
      [{ path: this.path, gen: "g1" }],
      [{ f: 0, s: o, e: o + bytes.length }],
      [{ f: 0, o, n: bytes.length, raw: 1, at: now }],
      [bytes],
    )
    return signEnvelope({
      privateKey: this.key.privateKey,
      keyId: this.keyId,
      agent: this.agent,
      host: `${this.agent}-host`,
      kind: "logs",
      seq,
      count: lines,
      sentAt: now,
      body,
    })
  }
}

/** NATS headers of a signed envelope. */
export function envelopeHeaders(env: SignedEnvelope): MsgHdrs {
  const h = natsHeaders()
  for (const [name, value] of Object.entries(env.headers)) h.set(name, value)
  return h
}

/**
 * Follows the child's JSON lines on `stream`: `wait(type)` resolves with the first event of that type and rejects
 * once the child reported an error or its output ended without one; `done` resolves when the output ends.
 */
export function watchFlood(stream: ReadableStream<Uint8Array>) {
  const seen = new Map<string, FloodEvent>()
  const waiting = new Map<string, () => void>()
  let failed: Error | undefined
  const wake = () => {
    for (const resolve of waiting.values()) resolve()
  }
  const done = (async () => {
    const decoder = new TextDecoder()
    let text = ""
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true })
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n")) {
        const line = text.slice(0, nl).trim()
        text = text.slice(nl + 1)
        if (!line.startsWith("{")) {
          if (line) console.log(`  publisher: ${line}`)
          continue
        }
        const event = JSON.parse(line) as FloodEvent
        if (event.type === "error") failed ??= new Error(`publisher failed: ${event.message}`)
        seen.set(event.type, event)
        wake()
      }
    }
  })().finally(() => {
    failed ??= new Error("publisher output ended")
    wake()
  })
  return {
    done,
    async wait<T extends FloodEvent["type"]>(type: T): Promise<Extract<FloodEvent, { type: T }>> {
      for (;;) {
        const event = seen.get(type)
        if (event) return event as Extract<FloodEvent, { type: T }>
        if (failed) throw failed
        await new Promise<void>((resolve) => waiting.set(type, resolve))
      }
    },
  }
}

function report(event: FloodEvent): void {
  console.log(JSON.stringify(event))
}

async function flood(spec: FloodSpec): Promise<void> {
  const signStarted = performance.now()
  const cpuAtStart = cpuSeconds()
  const source = new TinyEnvelopes(
    readFileSync(spec.privateKeyPath, "utf8"),
    spec.agent,
    "/var/log/flood.log",
  )
  const prepared: Array<{ env: SignedEnvelope; headers: MsgHdrs }> = []
  let bytes = 0
  for (let i = 0; i < spec.envelopes; i++) {
    const env = source.next(spec.linesPerEnvelope)
    bytes += env.body.length
    prepared.push({ env, headers: envelopeHeaders(env) })
  }
  const cpuAtPublish = cpuSeconds()
  report({
    type: "signed",
    envelopes: prepared.length,
    bytes,
    seconds: (performance.now() - signStarted) / 1000,
    cpuSeconds: cpuAtPublish - cpuAtStart,
  })

  const nc = await connect({ servers: spec.natsUrl, name: "outpost-bench-flood" })
  const js = jetstream(nc)
  const window = Math.max(1, spec.window)
  const inflight: Promise<void>[] = []
  let duplicates = 0
  let failure: unknown
  const started = performance.now()
  report({ type: "publishing", at: epochMs() })
  for (let i = 0; i < prepared.length; i++) {
    const slot = i % window
    if (i >= window) await inflight[slot]
    if (failure !== undefined) break
    const { env, headers } = prepared[i] as (typeof prepared)[number]
    inflight[slot] = js.publish(env.subject, env.body, { msgID: env.id, headers }).then(
      (ack) => {
        if (ack.duplicate) duplicates++
      },
      (error: unknown) => {
        failure ??= error
      },
    )
  }
  await Promise.all(inflight)
  const at = epochMs()
  await nc.close()
  if (failure !== undefined) throw failure
  report({
    type: "published",
    at,
    seconds: (performance.now() - started) / 1000,
    duplicates,
    cpuSeconds: cpuSeconds() - cpuAtPublish,
  })
}

if (import.meta.main) {
  try {
    await flood(JSON.parse(process.argv[2] ?? "{}") as FloodSpec)
    process.exit(0)
  } catch (error) {
    report({ type: "error", message: error instanceof Error ? error.message : String(error) })
    process.exit(1)
  }
}
