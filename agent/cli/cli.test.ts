// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} in plain strings is the config syntax under test
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
    expect(run("--help").out).toContain("\n  keygen ")
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
      "logs[x].mode:",
    ],
    [
      "empty paths",
      { agent_id: "a", state_dir: "/s", private_key_file: "/k", logs: [{ name: "x", paths: [] }] },
      "logs[x].paths:",
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
      "nats.servers[0]:",
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
    expect(r.err).toContain("logs[app].rules: rule 'oops' has an invalid regex")
  })
})

describe("outpost-agent: strict command line, one-line errors", () => {
  test("each command has its own --help; -c is --config", () => {
    const help = run("run", "--help")
    expect(help.code).toBe(0)
    expect(help.out).toContain("Usage: outpost-agent run --config <file>")
    expect(help.out).toContain("-c, --config <file>")
    expect(help.out).toContain("--log-format <format>")
    expect(run("test-rules", "--help").out).toContain("--file <path>")
    expect(run("--help").out).toContain("test-rules")
  })

  test.each([
    [["run", "--confg", "x.toml"], "unknown option --confg for 'run' (did you mean --config?)"],
    [["chek-config", "-c", "x.toml"], "unknown command 'chek-config' (did you mean 'check-config'?)"],
    [["run", "--config"], "--config needs a value"],
    [["run", "extra"], "takes no arguments, got 'extra'"],
    [["run", "-c", "x.toml", "--log-level", "loud"], "--log-level must be one of error, warn, info, debug"],
  ])("%j is refused in one line with a hint, exit 2", (args, message) => {
    const r = run(...args)
    expect(r.code).toBe(2)
    expect(r.err).toContain(message)
    expect(r.err).toContain("(cli_usage)")
    expect(r.err.trim().split("\n")).toHaveLength(1)
  })

  test("a key file that is not PEM: one line with the field and a code, no stack unless --debug", async () => {
    await using dir = tempDir()
    const key = join(dir.path, "agent.key")
    writeFileSync(key, "not a key\n", { mode: 0o600 })
    const path = join(dir.path, "agent.json")
    writeFileSync(
      path,
      JSON.stringify({ agent_id: "a", state_dir: join(dir.path, "s"), private_key_file: key }),
    )
    const r = run("check-config", "-c", path)
    expect(r.code).toBe(2)
    expect(r.err.trim()).toBe(
      `error: ${path}: private_key_file: ${key} is not a PEM private key (expected the file written by 'outpost-agent keygen') (key_invalid)`,
    )
    const debug = run("check-config", "-c", path, "--debug")
    expect(debug.err).toContain("at ")
  })

  test("TOML syntax errors give line and column; YAML is refused by name", async () => {
    await using dir = tempDir()
    const toml = join(dir.path, "agent.toml")
    writeFileSync(toml, 'agent_id = "a"\nstate_dir = \n')
    expect(run("check-config", "-c", toml).err).toContain(`${toml}:2:`)
    const yaml = join(dir.path, "agent.yaml")
    writeFileSync(yaml, "agent_id: a\n")
    const r = run("check-config", "-c", yaml)
    expect(r.code).toBe(2)
    expect(r.err).toContain("YAML is not supported; write the config as TOML (.toml) or JSON (.json)")
  })

  test("check-config checks the host as run would: state_dir writable, key readable, every problem at once", async () => {
    await using dir = tempDir()
    const blocker = join(dir.path, "file")
    writeFileSync(blocker, "")
    const path = join(dir.path, "agent.json")
    writeFileSync(
      path,
      JSON.stringify({
        agent_id: "a",
        state_dir: join(blocker, "state"),
        private_key_file: join(dir.path, "missing.key"),
        nats: { servers: ["nats://127.0.0.1:99999"] },
        http: { port: 0 },
      }),
    )
    const r = run("check-config", "-c", path)
    expect(r.code).toBe(2)
    expect(r.err).toContain(`error: ${path}: 3 problems (config_invalid)`)
    expect(r.err).toContain(`  - private_key_file: ${join(dir.path, "missing.key")} cannot be read`)
    expect(r.err).toContain("  - state_dir: cannot create")
    expect(r.err).toContain("  - nats.servers[0]: port of 'nats://127.0.0.1:99999' must be 1-65535")
  })

  test("${ENV} and ${ENV:-default} in values, agent_id from the host name, config --print shows the result", async () => {
    await using dir = tempDir()
    run("keygen", "--agent", "a", "--out", join(dir.path, "k"))
    const path = join(dir.path, "agent.toml")
    writeFileSync(
      path,
      `state_dir = "\${OUTPOST_TEST_DIR}/state"\nprivate_key_file = "\${OUTPOST_TEST_DIR}/k"\n` +
        `[nats]\nservers = ["\${OUTPOST_TEST_NATS:-nats://127.0.0.1:4999}"]\npublish_timeout_ms = "\${OUTPOST_TEST_TIMEOUT}"\n`,
    )
    const env = { ...process.env, OUTPOST_TEST_DIR: dir.path, OUTPOST_TEST_TIMEOUT: "700" }
    const proc = Bun.spawnSync([process.execPath, cli, "config", "--print", "-c", path, "--format", "json"], {
      env,
    })
    expect(proc.stderr.toString()).toBe("")
    const printed = JSON.parse(proc.stdout.toString())
    expect(printed.state_dir).toBe(`${dir.path}/state`)
    expect(printed.nats.servers).toEqual(["nats://127.0.0.1:4999"])
    expect(printed.nats.publish_timeout_ms).toBe(700)
    expect(printed.agent_id).toMatch(/^[a-z0-9_-]{1,64}$/)
    const unset = Bun.spawnSync([process.execPath, cli, "check-config", "-c", path], {
      env: { ...process.env, OUTPOST_TEST_DIR: dir.path },
    })
    expect(unset.exitCode).toBe(2)
    expect(unset.stderr.toString()).toContain(
      "nats.publish_timeout_ms: environment variable OUTPOST_TEST_TIMEOUT is not set",
    )
  })

  test("test-rules shows the lines a match source would ship, with their rule, and a summary", async () => {
    await using dir = tempDir()
    const log = join(dir.path, "app.log")
    writeFileSync(log, "ok one\nERROR disk full\nok two\ntook 1234 ms\nlast ERROR without newline")
    const path = join(dir.path, "agent.json")
    writeFileSync(
      path,
      JSON.stringify({
        agent_id: "a",
        state_dir: join(dir.path, "s"),
        private_key_file: join(dir.path, "k"),
        logs: [
          {
            name: "app",
            paths: [join(dir.path, "*.log")],
            mode: "match",
            rules: [
              { name: "errors", keywords: ["ERROR"] },
              { name: "slow", regex: "took [0-9]{4,} ms" },
            ],
          },
        ],
      }),
    )
    const r = run("test-rules", "-c", path, "--file", log)
    expect(r.err).toBe("")
    expect(r.code).toBe(0)
    expect(r.out.trim().split("\n")).toEqual([
      "7\terrors\tERROR disk full",
      "30\tslow\ttook 1234 ms",
      "43\terrors\tlast ERROR without newline",
      `logs[app] ${log}: 3 of 5 lines would ship (errors: 2, slow: 1)`,
    ])
  })
})

describe("outpost-agent: [[urls]] checks are checked like every field", () => {
  test.each([
    [
      "period not above the timeout, and a bad regex",
      [
        { name: "x", url: "http://127.0.0.1/", period_s: 5, timeout_s: 10 },
        { name: "z", url: "http://127.0.0.1/z", body_regex: ["(unclosed"] },
      ],
      ["urls[x].period_s:", "urls[z].body_regex[0]:"],
    ],
    ["a URL that is none", [{ name: "y", url: "notaurl" }], ["urls[y].url:"]],
    [
      "an unknown condition",
      [{ name: "w", url: "http://127.0.0.1/", body_equals: "ok" }],
      ["urls[w].body_equals: unknown field"],
    ],
  ])("%s: exit 2 naming the field", async (_name, urls, messages) => {
    await using dir = tempDir()
    run("keygen", "--agent", "a", "--out", join(dir.path, "k"))
    const path = join(dir.path, "agent.json")
    writeFileSync(
      path,
      JSON.stringify({
        agent_id: "a",
        state_dir: join(dir.path, "s"),
        private_key_file: join(dir.path, "k"),
        http: { port: 0 },
        urls,
      }),
    )
    const r = run("check-config", "-c", path)
    expect(r.code).toBe(2)
    for (const m of messages) expect(r.err).toContain(m)
  })
})
