#!/usr/bin/env bun
/**
 * Local demo: the collector (which starts its own nats-server with JetStream), an agent tailing two sample logs
 * that keep growing, and a writer producing access-log and application lines. Ctrl-C stops everything cleanly.
 *   bun scripts/demo.ts [--seconds N] [--dir .demo] [--http-port 4480] [--nats-port 4222] [--agent-http-port 4406]
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { keygen } from "../agent/cli/keygen.ts"
import { freePort, waitFor } from "../test/harness/ports.ts"
import { spawnLogged, writeConfig } from "../test/harness/processes.ts"
import { parseArgs } from "./args.ts"

const args = parseArgs(process.argv.slice(2))
const root = resolve(import.meta.dir, "..")
const dir = resolve(args.flags.get("dir") ?? join(root, ".demo"))
const seconds = Number(args.flags.get("seconds") ?? 0)
const httpPort = Number(args.flags.get("http-port") ?? (await portOr(4480)))
const natsPort = Number(args.flags.get("nats-port") ?? (await portOr(4222)))
const agentHttpPort = Number(args.flags.get("agent-http-port") ?? (await portOr(4406)))

// The folder is emptied first, but only one an earlier demo made (it leaves a marker): never a folder of yours.
const marker = join(dir, ".outpost-demo")
if (existsSync(dir) && readdirSync(dir).length > 0 && !existsSync(marker)) {
  console.error(`error: ${dir} exists and was not made by the demo; pass --dir <new folder> (demo_dir)`)
  process.exit(2)
}
if (existsSync(marker)) console.log(`emptying ${dir} (what the last demo left there)`)
rmSync(dir, { recursive: true, force: true })
mkdirSync(dir, { recursive: true })
writeFileSync(marker, "made by scripts/demo.ts; the next demo empties this folder\n")
const logsDir = join(dir, "logs")
mkdirSync(logsDir, { recursive: true })
const { privatePath, publicPath } = keygen(join(dir, "keys/agent.key"), "demo-agent", true)
const collectorConfig = writeConfig(join(dir, "collector.json"), {
  data_dir: join(dir, "collector"),
  enrolled_keys: publicPath,
  nats: { local_port: natsPort },
  http: { port: httpPort },
})
const agentConfig = writeConfig(join(dir, "agent.json"), {
  agent_id: "demo-agent",
  state_dir: join(dir, "agent-state"),
  private_key_file: privatePath,
  http: { port: agentHttpPort },
  nats: { servers: [`nats://127.0.0.1:${natsPort}`] },
  logs: [
    { name: "web", paths: [join(logsDir, "access*.log")], mode: "all", start_at: "beginning" },
    {
      name: "app",
      paths: [join(logsDir, "app.log")],
      mode: "match",
      start_at: "beginning",
      rules: [
        { name: "errors", keywords: ["ERROR", "FATAL"] },
        { name: "slow", regex: "took [0-9]{4,} ms" },
      ],
    },
  ],
})

const http = `http://127.0.0.1:${httpPort}`
console.log(`demo folder: ${dir}`)
const collector = spawnLogged(
  [process.execPath, join(root, "collector/cli/main.ts"), "run", "--config", collectorConfig],
  join(dir, "collector.log"),
)
await waitFor("the collector", async () => {
  if (collector.proc.exitCode !== null) throw new Error(`collector exited; see ${collector.logPath}`)
  return (await fetch(`${http}/health`)).ok
})
const agent = spawnLogged(
  [process.execPath, join(root, "agent/cli/main.ts"), "run", "--config", agentConfig],
  join(dir, "agent.log"),
)

let n = 0
const paths = ["/", "/ads/serve", "/ads/click", "/products/42", "/cart", "/login"]
const writer = setInterval(() => {
  let access = ""
  for (let i = 0; i < 20; i++, n++) {
    const ip = `203.0.113.${n % 250}`
    const path = paths[n % paths.length]
    access += `${ip} - - [${new Date().toISOString()}] "GET ${path} HTTP/1.1" ${n % 50 === 0 ? 500 : 200} ${512 + (n % 4096)} "-" "Mozilla/5.0"\n`
  }
  appendFileSync(join(logsDir, "access.log"), access)
  const level = n % 140 === 0 ? "ERROR payment gateway timeout" : "INFO request served"
  const took = (n / 20) % 7 === 3 ? 1200 + (n % 900) : 35
  appendFileSync(join(logsDir, "app.log"), `${new Date().toISOString()} ${level} took ${took} ms\n`)
}, 200)

console.log(`
Outpost demo is running: nats-server (JetStream) on 127.0.0.1:${natsPort}, collector, agent 'demo-agent'.
Sample logs keep growing in ${logsDir}; process logs: ${collector.logPath}, ${agent.logPath}

  agent    http://127.0.0.1:${agentHttpPort}/   (the files it reads; /health, /metrics)
  health   ${http}/health
  status   ${http}/status
  metrics  ${http}/metrics
  query    ${http}/sql?q=${encodeURIComponent("SELECT file, rule, count(*) AS lines, max(received_at) AS last FROM logs GROUP BY ALL ORDER BY ALL")}

  curl -s '${http}/sql' --get --data-urlencode "q=SELECT line FROM logs WHERE rule = 'errors' ORDER BY received_at DESC LIMIT 5"

Press Ctrl-C to stop.`)

let stopping = false
async function stop(code: number) {
  if (stopping) return
  stopping = true
  clearInterval(writer)
  await agent.stop()
  await collector.stop()
  // Counted in the file once the collector has written everything it received and closed it.
  const dbPath = join(dir, "collector/outpost.duckdb")
  const rows = await countLogRows(dbPath).catch((error) => `? (${(error as Error).message})`)
  console.log(`\ndemo stopped: ${rows} log lines in ${dbPath}
To query them again: bun collector/cli/main.ts run -c ${collectorConfig}, then
  curl -s '${http}/sql' --get --data-urlencode "q=SELECT rule, count(*) AS n FROM logs GROUP BY ALL"`)
  process.exit(code)
}
process.on("SIGINT", () => void stop(0))
process.on("SIGTERM", () => void stop(0))
if (seconds > 0) setTimeout(() => void stop(0), seconds * 1000)

async function countLogRows(path: string): Promise<number> {
  const db = await DuckDBInstance.create(path, { access_mode: "READ_ONLY" })
  try {
    const conn = await db.connect()
    const rows = (await conn.runAndReadAll("SELECT count(*) FROM logs")).getRows()
    conn.closeSync()
    return Number(rows[0]?.[0])
  } finally {
    db.closeSync()
  }
}

/** The preferred port when it is free, else any free port. */
async function portOr(preferred: number): Promise<number> {
  try {
    const server = Bun.listen({ hostname: "127.0.0.1", port: preferred, socket: { data() {} } })
    server.stop(true)
    return preferred
  } catch {
    return await freePort()
  }
}
