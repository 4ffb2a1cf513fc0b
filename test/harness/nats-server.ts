import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Subprocess } from "bun"
import { setprivPath } from "../../collector/nats/server-process.ts"
import { natsServerPath } from "../../shared/nats-server-path.ts"
import { freePort, waitFor } from "./ports.ts"

/** A real nats-server with JetStream on a free loopback port and a temp store; restartable on the same port. */
export type NatsServer = {
  url: string
  port: number
  storeDir: string
  stop(): Promise<void>
  start(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export async function startNatsServer(options: { storeDir?: string } = {}): Promise<NatsServer> {
  const port = await freePort()
  const monitorPort = await freePort()
  const ownsStore = options.storeDir === undefined
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), "outpost-nats-"))
  let proc: Subprocess | undefined

  const start = async () => {
    // With a parent-death signal: a test process that exits early (--bail, a crash) takes its servers with it.
    const setpriv = setprivPath()
    proc = Bun.spawn(
      [
        ...(setpriv ? [setpriv, "--pdeathsig", "SIGTERM", "--"] : []),
        natsServerPath(),
        "-js",
        "-a",
        "127.0.0.1",
        "-p",
        String(port),
        "-m",
        String(monitorPort),
        "-sd",
        storeDir,
      ],
      { stdout: "ignore", stderr: "pipe" },
    )
    await waitFor(`nats-server on port ${port}`, async () => {
      if (proc?.exitCode !== null) throw new Error("nats-server exited")
      const res = await fetch(`http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`)
      return res.ok
    })
  }
  const stop = async () => {
    if (!proc) return
    proc.kill("SIGTERM")
    await proc.exited
    proc = undefined
  }
  await start()
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    start,
    stop,
    async [Symbol.asyncDispose]() {
      await stop()
      if (ownsStore) rmSync(storeDir, { recursive: true, force: true })
    },
  }
}
