import type { JetStreamManager } from "@nats-io/jetstream"
import { safeText } from "../../shared/log-text.ts"
import type { Logger } from "../../shared/logger.ts"
import type { CollectorConfig } from "../config/schema.ts"
import { ensureStreamAndConsumer, replaceConsumer } from "./stream-setup.ts"

export type StreamWatchOptions = {
  jsm: JetStreamManager
  config: CollectorConfig
  intervalMs?: number
  log: Logger
  /** something was missing and is back: what */
  onRecreated(what: "stream" | "consumer" | "quarantine"): void
  /** messages wait in the stream but nothing was delivered since the last check: the pull seems stuck */
  onStalled(): void
  /** ingest holds nothing and waits for the server; a busy or storage-blocked loop is never "stalled" */
  ingestIdle(): boolean
}

/**
 * Checks every few seconds (and on demand, e.g. after a failed pull) that the stream, the consumer and the
 * quarantine still exist, and recreates whatever was deleted under the collector from the config. Ingestion
 * would otherwise stop silently; `problem` feeds /health meanwhile.
 */
export class StreamWatch {
  problem: string | undefined
  private timer: ReturnType<typeof setInterval> | undefined
  private running: Promise<void> | undefined
  private lastDelivered = -1
  private stalls = 0

  constructor(private readonly o: StreamWatchOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.o.intervalMs ?? 3000)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** One check now (concurrent calls share it). */
  check(): Promise<void> {
    this.running ??= this.checkOnce().finally(() => {
      this.running = undefined
    })
    return this.running
  }

  /**
   * A pull can outlive the consumer it was made for (e.g. after the stream was deleted and recreated, nats-server
   * 2.9 keeps a waiting request that never gets messages): if messages are pending, room is left under
   * max_ack_pending and the delivered sequence did not move since the last check, start a new pull.
   */
  private async checkProgress(): Promise<void> {
    const c = this.o.config
    const info = await this.o.jsm.consumers.info(c.stream.name, c.consumer.durable_name)
    const delivered = info.delivered.stream_seq
    const stalled =
      this.o.ingestIdle() &&
      info.num_pending > 0 &&
      info.num_ack_pending < c.consumer.max_ack_pending &&
      delivered === this.lastDelivered
    this.lastDelivered = delivered
    this.stalls = stalled ? this.stalls + 1 : 0
    if (this.stalls === 1) {
      this.o.log.warn(
        `${info.num_pending} message(s) wait but none was delivered since the last check; pulling anew`,
      )
      this.o.onStalled()
    } else if (this.stalls >= 2) {
      this.o.log.warn(`the consumer still delivers nothing; replacing it, starting after its ack floor`)
      await replaceConsumer(this.o.jsm, c, info.ack_floor.stream_seq + 1)
      this.o.onRecreated("consumer")
      this.stalls = 0
    }
  }

  private async checkOnce(): Promise<void> {
    try {
      const created = await ensureStreamAndConsumer(this.o.jsm, this.o.config, {
        update: false,
        settleMs: 2000,
      })
      for (const what of ["stream", "consumer", "quarantine"] as const) {
        if (!created[what]) continue
        this.o.log.warn(
          `the ${what} was missing (deleted under the collector?); recreated it from the config`,
        )
        this.o.onRecreated(what)
      }
      if (this.problem) this.o.log.info("stream and consumer are back")
      this.problem = undefined
      await this.checkProgress()
    } catch (error) {
      const message = safeText((error as Error).message)
      if (this.problem !== message)
        this.o.log.warn(`cannot check or recreate the stream and consumer: ${message}`)
      this.problem = message
    }
  }
}
