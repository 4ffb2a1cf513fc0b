import { describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { tempDir } from "../../test/harness/index.ts"

const cli = join(import.meta.dir, "../cli/main.ts")

async function checkConfig(name: string, text: string) {
  await using dir = tempDir()
  const path = join(dir.path, name)
  // @KEYS@ stands for an enrolled_keys file that exists (check-config reads it)
  writeFileSync(join(dir.path, "keys"), "# none yet\n")
  writeFileSync(path, text.replaceAll("@KEYS@", join(dir.path, "keys")).replaceAll("@DIR@", dir.path))
  const proc = Bun.spawnSync([process.execPath, cli, "check-config", "--config", path])
  return { code: proc.exitCode, stderr: proc.stderr.toString(), stdout: proc.stdout.toString() }
}

describe("collector config validation", () => {
  test("a valid TOML config passes", async () => {
    const r = await checkConfig(
      "ok.toml",
      'data_dir = "@DIR@/data"\nenrolled_keys = "@KEYS@"\n[stream]\nmax_age_s = 60\n[http]\nport = 0\n[nats]\nlocal_port = 1\nurl = "nats://127.0.0.1:4222"\n',
    )
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
  })

  test.each([
    [
      "a non-loopback HTTP host without a token",
      'data_dir = "/d"\nenrolled_keys = "@KEYS@"\n[http]\nhost = "0.0.0.0"\n',
      "http.token",
    ],
    [
      "batches larger than what may be delivered unacked",
      'data_dir = "/d"\nenrolled_keys = "@KEYS@"\n[consumer]\nbatch_max_messages = 500\nmax_ack_pending = 100\n',
      "consumer.batch_max_messages: 500 must not exceed consumer.max_ack_pending (100)",
    ],
    [
      "enrolled_keys missing",
      'data_dir = "/d"\nenrolled_keys = "/nonexistent/keys"\n',
      "enrolled_keys: cannot read",
    ],
    ["unknown field", 'data_dir = "/d"\nenrolled_keys = "/k"\nbogus = 1\n', "bogus: unknown field"],
    ["missing field", 'data_dir = "/d"\n', "enrolled_keys: required field is missing"],
    [
      "wrong type",
      'data_dir = "/d"\nenrolled_keys = "/k"\n[http]\nport = "eighty"\n',
      "http.port: expected integer",
    ],
    ["out of range", 'data_dir = "/d"\nenrolled_keys = "/k"\n[http]\nport = 70000\n', "http.port:"],
    [
      "bad enum",
      'data_dir = "/d"\nenrolled_keys = "/k"\n[stream]\ndiscard = "newest"\n',
      'stream.discard: expected union value (expected one of "old", "new")',
    ],
    [
      "unknown nested field",
      'data_dir = "/d"\nenrolled_keys = "/k"\n[consumer]\nmax_ack = 3\n',
      "consumer.max_ack: unknown field",
    ],
    ["TOML syntax", 'enrolled_keys = "/k"\ndata_dir = \n', "bad.toml:2:12: invalid value"],
  ])("%s exits non-zero naming the field", async (_name, text, message) => {
    const r = await checkConfig("bad.toml", text)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(message)
  })

  test("JSON configs are read too, and every problem is listed at once", async () => {
    const r = await checkConfig("bad.json", JSON.stringify({ data_dir: 5, nats: { url: "http://x" } }))
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("data_dir: expected string")
    expect(r.stderr).toContain("enrolled_keys: required field is missing")
    expect(r.stderr).toContain("nats.url:")
  })
})

describe("collector check-config checks the host as run would", () => {
  test("an HTTP port in use and a data_dir that cannot be created: every problem at once, one per line", async () => {
    const busy = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
    try {
      const r = await checkConfig(
        "c.toml",
        `data_dir = "@KEYS@/data"\nenrolled_keys = "@KEYS@"\n[http]\nport = ${busy.port}\n[nats]\nurl = "nats://127.0.0.1:4222"\n`,
      )
      expect(r.code).toBe(2)
      expect(r.stderr).toContain("3 problems (config_invalid)")
      expect(r.stderr).toContain(`  - http: 127.0.0.1:${busy.port} is in use`)
      expect(r.stderr).toContain("  - data_dir: cannot create")
      expect(r.stderr).toContain("  - duckdb_file: ")
    } finally {
      busy.stop(true)
    }
  })

  test("an http.host that is no address of this machine: one line naming the field", async () => {
    const r = await checkConfig(
      "c.toml",
      `data_dir = "@DIR@/data"\nenrolled_keys = "@KEYS@"\n[http]\nhost = "203.0.113.7"\nport = 0\ntoken = "${"t".repeat(32)}"\n[nats]\nurl = "nats://127.0.0.1:4222"\n`,
    )
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toContain("http: cannot listen on 203.0.113.7:0")
    expect(r.stderr).toContain("(config_invalid)")
  })

  test("a .yml config is refused by name", async () => {
    const r = await checkConfig("c.yml", "data_dir: /d\n")
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("YAML is not supported")
  })
})
