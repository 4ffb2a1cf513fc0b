import { join } from "node:path"
import { keygen } from "../../agent/cli/keygen.ts"
import type { NatsServer } from "./nats-server.ts"
import { freePort, waitFor } from "./ports.ts"
import { agentCommand, type Child, collectorCommand, spawnLogged, writeConfig } from "./processes.ts"

/** Agent and collector as real processes around a given nats-server, with their configs in `dir`. */
export type Pipeline = {
  httpUrl: string
  logsDir: string
  startAgent(): Promise<Child>
  startCollector(): Promise<Child>
  agent?: Child
  collector?: Child
  stopAll(): Promise<void>
}

export type PipelineOptions = {
  dir: string
  nats: NatsServer
  agentBinary?: string
  /** extra fields for the logs source */
  logs?: Record<string, unknown>
}

export async function createPipeline(options: PipelineOptions): Promise<Pipeline> {
  const { dir, nats } = options
  const logsDir = join(dir, "logs")
  const { privatePath, publicPath } = keygen(join(dir, "keys/agent.key"), "edge-1", true)
  const httpPort = await freePort()
  const httpUrl = `http://127.0.0.1:${httpPort}`
  const collectorConfig = writeConfig(join(dir, "collector.json"), {
    data_dir: join(dir, "collector"),
    enrolled_keys: publicPath,
    nats: { url: nats.url },
    http: { port: httpPort },
    consumer: { ack_wait_s: 5, batch_max_wait_ms: 20 },
  })
  const agentConfig = writeConfig(join(dir, "agent.json"), {
    agent_id: "edge-1",
    host: "test-host",
    state_dir: join(dir, "agent-state"),
    private_key_file: privatePath,
    // any free port: several agents may run at once
    http: { port: 0 },
    nats: { servers: [nats.url], publish_timeout_ms: 2000 },
    batch: { max_wait_ms: 20, max_bytes: 64 * 1024 },
    logs: [
      {
        name: "app",
        paths: [join(logsDir, "*.log")],
        start_at: "beginning",
        poll_interval_ms: 50,
        rotate_wait_ms: 300,
        read_chunk_bytes: 16 * 1024,
        ...options.logs,
      },
    ],
  })
  const pipeline: Pipeline = {
    httpUrl,
    logsDir,
    async startAgent() {
      pipeline.agent = spawnLogged(agentCommand(agentConfig, options.agentBinary), join(dir, "agent.log"))
      const agent = pipeline.agent
      await waitFor("agent to run", async () => {
        if (agent.proc.exitCode !== null) throw new Error(`agent exited ${agent.proc.exitCode}`)
        return (await Bun.file(agent.logPath).text()).includes("running:")
      })
      return agent
    },
    async startCollector() {
      pipeline.collector = spawnLogged(collectorCommand(collectorConfig), join(dir, "collector.log"))
      const collector = pipeline.collector
      await waitFor("collector health", async () => {
        if (collector.proc.exitCode !== null) throw new Error(`collector exited ${collector.proc.exitCode}`)
        return (await fetch(`${httpUrl}/health`)).ok
      })
      return collector
    },
    async stopAll() {
      await pipeline.agent?.kill9()
      await pipeline.collector?.kill9()
    },
  }
  return pipeline
}
