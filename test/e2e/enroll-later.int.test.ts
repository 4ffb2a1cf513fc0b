import { expect, setDefaultTimeout, test } from "bun:test"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { keygen } from "../../agent/cli/keygen.ts"
import {
  agentCommand,
  collectorCommand,
  freePort,
  LogWriter,
  queryNumber,
  spawnLogged,
  tempDir,
  waitFor,
  writeConfig,
} from "../harness/index.ts"

setDefaultTimeout(90_000)

test("an agent started before its key is enrolled: refused by the local NATS, it says so, and after `enroll` its lines arrive with no restart of either process", async () => {
  await using dir = tempDir("outpost-enroll-")
  const keysFile = join(dir.path, "enrolled_keys")
  writeFileSync(keysFile, "# enrolled agents\n")
  const httpPort = await freePort()
  const natsPort = await freePort()
  const httpUrl = `http://127.0.0.1:${httpPort}`
  const collectorConfig = writeConfig(join(dir.path, "collector.json"), {
    data_dir: join(dir.path, "collector"),
    enrolled_keys: keysFile,
    nats: { local_port: natsPort },
    http: { port: httpPort },
  })
  const { privatePath, publicPath } = keygen(join(dir.path, "agent.key"), "late-edge", true)
  const logsDir = join(dir.path, "logs")
  mkdirSync(logsDir)
  const logs = new LogWriter(logsDir)
  logs.append("app", 500)
  const agentConfig = writeConfig(join(dir.path, "agent.json"), {
    agent_id: "late-edge",
    state_dir: join(dir.path, "agent-state"),
    private_key_file: privatePath,
    // any free port: several agents may run at once
    http: { port: 0 },
    nats: { servers: [`nats://127.0.0.1:${natsPort}`] },
    logs: [{ name: "app", paths: [join(logsDir, "*.log")], start_at: "beginning", poll_interval_ms: 50 }],
  })
  const collector = spawnLogged(collectorCommand(collectorConfig), join(dir.path, "collector.log"))
  const agent = spawnLogged(agentCommand(agentConfig), join(dir.path, "agent.log"))
  try {
    await waitFor(
      "collector health",
      async () => (await fetch(`${httpUrl}/health`).catch(() => null))?.ok === true,
    )
    await waitFor(
      "the agent to say it is not enrolled, with the command to run",
      async () => (await Bun.file(agent.logPath).text()).includes("outpost-collector enroll --config"),
      30_000,
    )
    expect(await queryNumber(httpUrl, "SELECT count(*) AS n FROM logs")).toBe(0)
    const enroll = Bun.spawnSync([
      ...collectorCommand(collectorConfig).slice(0, 2),
      "enroll",
      "--config",
      collectorConfig,
      "--file",
      publicPath,
    ])
    expect(enroll.stdout.toString()).toContain("enrolled agent 'late-edge'")
    logs.append("app", 500)
    await waitFor(
      "all 1000 lines",
      async () => (await queryNumber(httpUrl, "SELECT count(*) AS n FROM logs")) === 1000,
      30_000,
    )
    expect(collector.proc.exitCode).toBeNull()
    expect(agent.proc.exitCode).toBeNull()
    // The operator's view of the quarantine, through the collector's own login on its local NATS.
    const cli = (...args: string[]) =>
      Bun.spawnSync([...collectorCommand(collectorConfig).slice(0, 2), ...args, "--config", collectorConfig])
    const list = cli("quarantine", "list")
    expect(list.exitCode).toBe(0)
    expect(list.stdout.toString()).toContain("0 envelope(s)")
    const refused = cli("quarantine", "discard")
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr.toString()).toContain("--agent <id>, --reason <reason> or --all")
    expect(cli("quarantine", "discard", "--all").stdout.toString()).toContain("discarded 0")
  } finally {
    await agent.stop()
    await collector.stop()
  }
})
