import { describe, expect, test } from "bun:test"
import { generateKeyPairSync } from "node:crypto"
import { chmodSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { parsePublicKeyLine } from "../../shared/protocol/keys.ts"
import { tempDir } from "../../test/harness/index.ts"

const cli = join(import.meta.dir, "main.ts")
const run = (...args: string[]) => {
  // a start that hangs (a FIFO read) is killed and fails the test instead of the suite
  const proc = Bun.spawnSync([process.execPath, cli, ...args], { timeout: 20_000 })
  return { code: proc.exitCode, out: proc.stdout.toString(), err: proc.stderr.toString() }
}
const modeOf = (path: string) => statSync(path).mode & 0o777

describe("keygen --force", () => {
  test("over an existing 0644 key: the new key is 0600", async () => {
    await using dir = tempDir()
    const out = join(dir.path, "agent.key")
    writeFileSync(out, "old key", { mode: 0o644 })
    chmodSync(out, 0o644)
    writeFileSync(`${out}.pub`, "old pub", { mode: 0o600 })
    expect(run("keygen", "--agent", "edge-1", "--out", out, "--force").code).toBe(0)
    expect(modeOf(out)).toBe(0o600)
    expect(readFileSync(out, "utf8")).toContain("-----BEGIN PRIVATE KEY-----")
    expect(modeOf(`${out}.pub`)).toBe(0o644)
    expect(parsePublicKeyLine(readFileSync(`${out}.pub`, "utf8"))?.agent).toBe("edge-1")
  })

  test("over a symlink: the link itself is replaced, the file it pointed to is untouched", async () => {
    await using dir = tempDir()
    const target = join(dir.path, "precious.txt")
    const pubTarget = join(dir.path, "precious.pub.txt")
    writeFileSync(target, "do not overwrite me\n", { mode: 0o644 })
    writeFileSync(pubTarget, "nor me\n")
    const out = join(dir.path, "agent.key")
    symlinkSync(target, out)
    symlinkSync(pubTarget, `${out}.pub`)
    expect(run("keygen", "--agent", "edge-1", "--out", out).code).toBe(2) // a symlink counts as taken
    expect(run("keygen", "--agent", "edge-1", "--out", out, "--force").code).toBe(0)
    expect(lstatSync(out).isSymbolicLink()).toBe(false)
    expect(lstatSync(`${out}.pub`).isSymbolicLink()).toBe(false)
    expect(modeOf(out)).toBe(0o600)
    expect(readFileSync(target, "utf8")).toBe("do not overwrite me\n")
    expect(readFileSync(pubTarget, "utf8")).toBe("nor me\n")
    expect(modeOf(target)).toBe(0o644)
  })
})

describe("the agent refuses an unusable private key before it starts", () => {
  const setup = (dir: string, keyFile: string) => {
    const config = join(dir, "agent.json")
    writeFileSync(
      config,
      JSON.stringify({
        agent_id: "a",
        state_dir: join(dir, "state"),
        private_key_file: keyFile,
        nats: { servers: ["nats://127.0.0.1:1"] }, // never reached: the key is checked first
        http: { port: 0 },
      }),
    )
    return run("run", "--config", config)
  }

  test("a key readable by group or others: the error names the file, its mode and the chmod", async () => {
    await using dir = tempDir()
    const key = join(dir.path, "agent.key")
    expect(run("keygen", "--agent", "a", "--out", key).code).toBe(0)
    chmodSync(key, 0o644)
    const r = setup(dir.path, key)
    expect(r.code).toBe(2)
    expect(r.err.trim()).toBe(
      `error: ${join(dir.path, "agent.json")}: private_key_file: ${key} has mode 0644: a private key must not be readable or writable by group or others; run: chmod 600 ${key} (key_permissions)`,
    )
    chmodSync(key, 0o620) // group-writable is refused too
    expect(setup(dir.path, key).err).toContain("has mode 0620")
  })

  test.each([
    ["not PEM", "just some text\n", "is not a PEM private key"],
    [
      "PEM, but broken",
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
      "is not a valid PEM",
    ],
    [
      "an RSA key",
      generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }),
      "holds a rsa key, not Ed25519",
    ],
  ])("%s: one line naming the file", async (_what, content, message) => {
    await using dir = tempDir()
    const key = join(dir.path, "agent.key")
    writeFileSync(key, content, { mode: 0o600 })
    const r = setup(dir.path, key)
    expect(r.code).toBe(2)
    const lines = r.err.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toStartWith("error: ")
    expect(lines[0]).toContain(`.json: private_key_file: ${key} ${message}`)
  })

  test("a FIFO at the key path is refused at once instead of hanging the start", async () => {
    await using dir = tempDir()
    const key = join(dir.path, "agent.key")
    expect(Bun.spawnSync(["mkfifo", "-m", "600", key]).exitCode).toBe(0)
    const r = setup(dir.path, key)
    expect(r.code).toBe(2)
    expect(r.err).toContain(`private_key_file: ${key} is not a regular file`)
  })
})
