import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { decodeLogsBody } from "../../shared/protocol/logs-body.ts"
import {
  agentCommand,
  type Child,
  type NatsServer,
  spawnLogged,
  startNatsServer,
  tempDir,
  waitFor,
  writeConfig,
} from "../../test/harness/index.ts"
import { keygen } from "./keygen.ts"

/** One line as it reached the stream. */
export type ShippedLine = { path: string; offset: number; text: string; truncated: boolean }

/**
 * A real nats-server with the OUTPOST stream, a temp dir with a key and a logs folder, for tests that run the
 * agent as a process and read what it published straight from the stream (no collector).
 */
export type AgentRig = {
  dir: string
  logsDir: string
  nats: NatsServer
  nc: NatsConnection
  /** writes an agent config with these `[[logs]]` sources (and extra top-level fields) and returns its path */
  config(logs: Record<string, unknown>[], extra?: Record<string, unknown>): string
  /** spawns `outpost-agent run` and waits for "running:" */
  start(configPath: string): Promise<Child>
  /** spawns `outpost-agent run` without waiting: for runs that are refused */
  spawn(configPath: string): Child
  /** every line in the stream so far, in stream order */
  shipped(): Promise<ShippedLine[]>
  [Symbol.asyncDispose](): Promise<void>
}

export async function startAgentRig(): Promise<AgentRig> {
  const dir = tempDir("outpost-agent-proc-")
  const nats = await startNatsServer()
  const nc = await connect({ servers: nats.url })
  const jsm = await jetstreamManager(nc)
  await jsm.streams.add({ name: "OUTPOST", subjects: ["outpost.>"] })
  const logsDir = join(dir.path, "logs")
  mkdirSync(logsDir)
  const { privatePath } = keygen(join(dir.path, "keys/agent.key"), "edge-1", false)
  const children: Child[] = []
  let configs = 0

  const spawn = (configPath: string) => {
    const child = spawnLogged(agentCommand(configPath), join(dir.path, `agent-${children.length}.log`))
    children.push(child)
    return child
  }

  return {
    dir: dir.path,
    logsDir,
    nats,
    nc,
    config(logs, extra = {}) {
      return writeConfig(join(dir.path, `agent-${configs++}.json`), {
        agent_id: "edge-1",
        state_dir: join(dir.path, "state"),
        private_key_file: privatePath,
        // any free port: several agents may run at once
        http: { port: 0 },
        nats: { servers: [nats.url], publish_timeout_ms: 2000 },
        batch: { max_wait_ms: 20 },
        ...extra,
        logs: logs.map((l) => ({ start_at: "beginning", poll_interval_ms: 50, rotate_wait_ms: 300, ...l })),
      })
    },
    spawn,
    async start(configPath) {
      const child = spawn(configPath)
      await waitFor(
        "agent to run",
        async () => {
          if (child.proc.exitCode !== null) throw new Error(`agent exited ${child.proc.exitCode}`)
          return (await Bun.file(child.logPath).text()).includes("running:")
        },
        30_000,
      )
      return child
    },
    async shipped() {
      const { state } = await jsm.streams.info("OUTPOST")
      const out: ShippedLine[] = []
      for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
        const msg = await jsm.streams.getMessage("OUTPOST", { seq })
        if (msg?.subject.startsWith("outpost.logs.")) out.push(...bodyLines(msg.data)) // not heartbeats
      }
      return out
    },
    async [Symbol.asyncDispose]() {
      for (const child of children) if (child.proc.exitCode === null) await child.kill9()
      await nc.close()
      await nats[Symbol.asyncDispose]()
      await dir[Symbol.asyncDispose]()
    },
  }
}

function bodyLines(body: Uint8Array): ShippedLine[] {
  const { manifest, payload } = decodeLogsBody(body)
  const out: ShippedLine[] = []
  let at = 0
  for (const part of manifest.parts) {
    const bytes = payload.subarray(at, at + part.n)
    at += part.n
    const path = manifest.files[part.f]?.path ?? "?"
    if (!part.raw) {
      out.push({ path, offset: part.o, text: Buffer.from(bytes).toString(), truncated: part.t === 1 })
      continue
    }
    let offset = part.o
    for (const text of Buffer.from(bytes).toString().slice(0, -1).split("\n")) {
      out.push({ path, offset, text, truncated: false })
      offset += Buffer.byteLength(text) + 1
    }
  }
  return out
}
