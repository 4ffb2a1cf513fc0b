import { describe, expect, test } from "bun:test"
import { readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { parsePublicKeyLine } from "../../shared/protocol/keys.ts"
import { VERSION } from "../../shared/version.ts"
import { tempDir } from "../../test/harness/index.ts"

const cli = join(import.meta.dir, "main.ts")
const run = (...args: string[]) => {
  const proc = Bun.spawnSync([process.execPath, cli, ...args])
  return { code: proc.exitCode, out: proc.stdout.toString(), err: proc.stderr.toString() }
}

describe("outpost-agent command line", () => {
  test("--help and --version", () => {
    expect(run("--help").out).toContain("outpost-agent keygen")
    expect(run("--version").out.trim()).toBe(VERSION)
  })

  test("keygen writes a private key (0600) and an enrollment line; refuses to overwrite without --force", async () => {
    await using dir = tempDir()
    const out = join(dir.path, "keys/agent.key")
    expect(run("keygen", "--agent", "edge-7", "--out", out).code).toBe(0)
    expect(statSync(out).mode & 0o777).toBe(0o600)
    expect(parsePublicKeyLine(readFileSync(`${out}.pub`, "utf8"))?.agent).toBe("edge-7")
    const again = run("keygen", "--agent", "edge-7", "--out", out)
    expect(again.code).toBe(2)
    expect(again.err).toContain("--force")
    expect(run("keygen", "--agent", "edge-7", "--out", out, "--force").code).toBe(0)
    expect(run("keygen", "--agent", "bad id!", "--out", join(dir.path, "x")).err).toContain("--agent")
  })

  test.each([
    [
      "unknown field",
      { agent_id: "a", state_dir: "/s", private_key_file: "/k", colour: "red" },
      "colour: unknown field",
    ],
    ["missing field", { agent_id: "a", state_dir: "/s" }, "private_key_file: required field is missing"],
    ["bad agent id", { agent_id: "a.b", state_dir: "/s", private_key_file: "/k" }, "agent_id:"],
    [
      "bad logs mode",
      {
        agent_id: "a",
        state_dir: "/s",
        private_key_file: "/k",
        logs: [{ name: "x", paths: ["/x"], mode: "some" }],
      },
      "logs.0.mode:",
    ],
    [
      "empty paths",
      { agent_id: "a", state_dir: "/s", private_key_file: "/k", logs: [{ name: "x", paths: [] }] },
      "logs.0.paths:",
    ],
    [
      "a line cap that cannot fit batch.max_bytes",
      {
        agent_id: "a",
        state_dir: "/s",
        private_key_file: "/k",
        logs: [{ name: "app", paths: ["/x"], max_line_bytes: 4 * 1024 * 1024 }],
      },
      "logs[app].max_line_bytes: 4194304 is larger than batch.max_bytes 921600",
    ],
    [
      "nats url scheme",
      { agent_id: "a", state_dir: "/s", private_key_file: "/k", nats: { servers: ["http://x"] } },
      "nats.servers.0:",
    ],
  ])("%s: non-zero exit naming the field", async (_name, config, message) => {
    await using dir = tempDir()
    const path = join(dir.path, "agent.json")
    writeFileSync(path, JSON.stringify(config))
    const r = run("check-config", "--config", path)
    expect(r.code).toBe(2)
    expect(r.err).toContain(message)
  })

  test("a match source without rules, or with a broken regex, is refused at start naming source and rule", async () => {
    await using dir = tempDir()
    run("keygen", "--agent", "a", "--out", join(dir.path, "k"))
    const base = { agent_id: "a", state_dir: join(dir.path, "s"), private_key_file: join(dir.path, "k") }
    const path = join(dir.path, "agent.toml")
    writeFileSync(
      path,
      `agent_id = "a"\nstate_dir = "${base.state_dir}"\nprivate_key_file = "${base.private_key_file}"\n` +
        `[nats]\nservers = ["nats://127.0.0.1:1"]\n[[logs]]\nname = "app"\npaths = ["/tmp/x.log"]\nmode = "match"\n` +
        `rules = [{ name = "oops", regex = "(unclosed" }]\n`,
    )
    const r = run("run", "--config", path)
    expect(r.code).toBe(2)
    expect(r.err).toContain("logs source 'app': rule 'oops'")
  })
})
