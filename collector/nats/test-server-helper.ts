#!/usr/bin/env bun
/**
 * Test helper: starts a local nats-server the way the collector does, prints `ready <pid>`, and after 5.5 s
 * `alive <pid>` if that nats-server still runs. A test kills this process with SIGKILL to play a crashed collector.
 *   bun test-server-helper.ts <data dir> <port>
 */
import { readFileSync } from "node:fs"
import { createLogger } from "../../shared/logger.ts"
import { startLocalNatsServer } from "./local-server.ts"

const [dataDir, port] = process.argv.slice(2)
if (!dataDir || !port) throw new Error("usage: test-server-helper.ts <data dir> <port>")

// Started inside an async function that returns: nothing of the spawning code stays on the stack.
async function start(): Promise<number | undefined> {
  const server = await startLocalNatsServer({
    dataDir: dataDir as string,
    host: "127.0.0.1",
    port: Number(port),
    maxPayloadBytes: 1024 * 1024,
    agents: [],
    log: createLogger({ component: "nats", write: (line) => console.error(line) }),
    onFatal: (e) => console.error(`fatal: ${e.message}`),
  })
  return server.pid
}
const pid = await start()
console.log(`ready ${pid}`)
// A zombie keeps its /proc entry but has an empty command line.
const alive = () => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`).length > 0
  } catch {
    return false
  }
}
setTimeout(() => console.log(alive() ? `alive ${pid}` : `gone ${pid}`), 5500)
setInterval(() => {}, 60_000)
