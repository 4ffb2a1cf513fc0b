import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { connect } from "@nats-io/transport-node"
import { natsServerPath } from "../../shared/nats-server-path.ts"

/** A nats-server with JetStream that the collector started itself (the single-host default). */
export type LocalNatsServer = { url: string; stop(): Promise<void> }

export type LocalNatsOptions = {
  dataDir: string
  host: string
  port: number
  maxPayloadBytes: number
  log(message: string): void
}

/** Starts `nats-server` with its store under `<dataDir>/nats` and waits until it accepts connections. */
export async function startLocalNatsServer(options: LocalNatsOptions): Promise<LocalNatsServer> {
  const dir = join(options.dataDir, "nats")
  mkdirSync(dir, { recursive: true })
  const conf = join(dir, "nats-server.conf")
  writeFileSync(
    conf,
    [
      `listen: "${options.host}:${options.port}"`,
      `max_payload: ${options.maxPayloadBytes}`,
      `jetstream { store_dir: ${JSON.stringify(dir)} }`,
      "",
    ].join("\n"),
  )
  const url = `nats://${options.host}:${options.port}`
  let proc: ReturnType<typeof Bun.spawn>
  try {
    proc = Bun.spawn([natsServerPath(), "-c", conf], { stdout: "ignore", stderr: "pipe" })
  } catch (cause) {
    throw new Error("cannot start nats-server: is it installed? (Debian: apt-get install nats-server)", {
      cause,
    })
  }
  const deadline = Date.now() + 15_000
  for (;;) {
    if (proc.exitCode !== null) {
      const stderr = await new Response(proc.stderr as ReadableStream).text()
      throw new Error(
        `local nats-server exited with code ${proc.exitCode}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`,
      )
    }
    try {
      const nc = await connect({ servers: url, timeout: 500 })
      await nc.close()
      break
    } catch {
      if (Date.now() > deadline) {
        proc.kill()
        throw new Error(`local nats-server did not accept connections on ${url} within 15 s`)
      }
      await Bun.sleep(50)
    }
  }
  options.log(`started local nats-server on ${url} (store ${dir})`)
  return {
    url,
    async stop() {
      proc.kill("SIGTERM")
      await proc.exited
    },
  }
}
