import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { freePort, tempDir } from "../harness/index.ts"

// Compiles both binaries (several seconds each on a busy machine).
setDefaultTimeout(120_000)

const root = join(import.meta.dir, "../..")

/** `bun run build` into `dir`; returns the collector executable copied alone into a folder of its own. */
async function buildCollectorAlone(dir: string): Promise<string> {
  const proc = Bun.spawn([process.execPath, join(root, "scripts/build.ts"), "--out-dir", join(dir, "dist")], {
    stdout: "pipe",
    stderr: "pipe",
    cwd: root,
  })
  if ((await proc.exited) !== 0) throw new Error(`build failed: ${await new Response(proc.stderr).text()}`)
  mkdirSync(join(dir, "collector-only"))
  const exe = join(dir, "collector-only/outpost-collector")
  copyFileSync(join(dir, "dist/outpost-collector/outpost-collector"), exe)
  chmodSync(exe, 0o755)
  return exe
}

describe("the compiled binaries speak one line per error and log as asked", () => {
  let dir: ReturnType<typeof tempDir>
  let agent: string
  let collector: string

  beforeAll(async () => {
    dir = tempDir("outpost-compiled-")
    // The collector alone in its folder, without libduckdb.so beside it, as a binary copied on its own would be.
    collector = await buildCollectorAlone(dir.path)
    agent = join(dir.path, "dist/outpost-agent")
  })
  afterAll(async () => {
    await dir?.[Symbol.asyncDispose]()
  })

  test("agent: a broken key is one line with its code, not the bundle's source", async () => {
    const key = join(dir.path, "bad.key")
    writeFileSync(key, "not a key\n", { mode: 0o600 })
    const config = join(dir.path, "bad.json")
    writeFileSync(
      config,
      JSON.stringify({
        agent_id: "a",
        state_dir: join(dir.path, "s1"),
        private_key_file: key,
        http: { port: 0 },
      }),
    )
    const r = Bun.spawnSync([agent, "run", "-c", config])
    expect(r.exitCode).toBe(2)
    const err = r.stderr.toString().trim()
    expect(err.split("\n")).toHaveLength(1)
    expect(err).toEndWith("(key_invalid)")
  })

  test("agent: JSON logs while NATS is unreachable; SIGTERM while waiting exits 0", async () => {
    const keys = Bun.spawnSync([agent, "keygen", "--agent", "edge-c", "--out", join(dir.path, "k")])
    expect(keys.exitCode).toBe(0)
    const config = join(dir.path, "agent.json")
    writeFileSync(
      config,
      JSON.stringify({
        agent_id: "edge-c",
        state_dir: join(dir.path, "s2"),
        private_key_file: join(dir.path, "k"),
        nats: { servers: [`nats://127.0.0.1:${await freePort()}`] },
        http: { port: 0 },
      }),
    )
    const proc = Bun.spawn([agent, "run", "-c", config, "--log-format", "json", "--log-level", "debug"], {
      stdout: "pipe",
      stderr: "pipe",
    })
    const lines: Record<string, unknown>[] = []
    const reader = (async () => {
      let buffered = ""
      for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
        buffered += new TextDecoder().decode(chunk)
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          lines.push(JSON.parse(buffered.slice(0, nl)))
          buffered = buffered.slice(nl + 1)
        }
        if (lines.some((l) => l.level === "warn" && String(l.msg).includes("cannot connect to NATS"))) break
      }
    })()
    await reader
    const warning = lines.find((l) => l.level === "warn" && String(l.msg).includes("cannot connect to NATS"))
    expect(warning).toMatchObject({ level: "warn", component: expect.any(String) })
    expect(typeof warning?.time).toBe("string")
    proc.kill("SIGTERM")
    expect(await proc.exited).toBe(0)
  })

  test("collector: --help works without DuckDB's library; run says in one line what is missing", async () => {
    const help = Bun.spawnSync([collector, "--help"])
    expect(help.exitCode).toBe(0)
    expect(help.stderr.toString()).toBe("")
    expect(help.stdout.toString()).toContain("check-config")
    const keys = join(dir.path, "enrolled")
    writeFileSync(keys, "# none\n")
    const config = join(dir.path, "collector.json")
    writeFileSync(
      config,
      JSON.stringify({
        data_dir: join(dir.path, "data"),
        enrolled_keys: keys,
        http: { port: 0 },
        nats: { url: "nats://127.0.0.1:1" },
      }),
    )
    const r = Bun.spawnSync([collector, "run", "-c", config])
    const err = r.stderr.toString().trim()
    expect(r.exitCode).toBe(1)
    expect(err.split("\n")).toHaveLength(1)
    expect(err).toStartWith("error: DuckDB's native library cannot be loaded")
    expect(err).toEndWith("(duckdb_missing)")
  })
})
