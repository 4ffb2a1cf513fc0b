import { describe, expect, test } from "bun:test"
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { formatPublicKeyLine, generateAgentKeyPair } from "../../shared/protocol/keys.ts"
import { tempDir } from "../../test/harness/index.ts"
import { loadEnrollment } from "../ingest/enrollment.ts"
import { enrollKey } from "./enroll.ts"

const line = (agent: string) => formatPublicKeyLine(generateAgentKeyPair().publicKeyRaw, agent)

describe("enroll", () => {
  test("appends to a keys file (keeping what is there), once; the collector's loader reads the result", async () => {
    await using dir = tempDir()
    const file = join(dir.path, "enrolled_keys")
    writeFileSync(file, `# fleet\noutpost-ed25519 ${Buffer.alloc(32, 1).toString("base64")} old-1`)
    const key = line("web-1")
    expect(enrollKey(file, key).status).toBe("enrolled")
    expect(enrollKey(file, `  ${key}  `).status).toBe("already_enrolled")
    const text = readFileSync(file, "utf8")
    expect(text.split("\n").filter((l) => l.includes("web-1"))).toHaveLength(1)
    expect([...loadEnrollment(file).keys()].sort()).toEqual(["old-1", "web-1"])
  })

  test("writes one .pub file per key into a keys directory", async () => {
    await using dir = tempDir()
    const keys = join(dir.path, "keys.d")
    mkdirSync(keys)
    const r = enrollKey(keys, line("db-1"))
    expect(readdirSync(keys)).toEqual([`db-1-${r.keyId}.pub`])
    expect(loadEnrollment(keys).has("db-1")).toBe(true)
  })

  test("a key already enrolled for another agent is refused when the file is read", async () => {
    await using dir = tempDir()
    const file = join(dir.path, "k")
    const key = line("a-1")
    writeFileSync(file, `${key}\n${key.replace(" a-1", " b-1")}\n`)
    expect(() => loadEnrollment(file)).toThrow("already enrolled for agent 'a-1'")
  })

  test.each([
    ["garbage", "not a public key line"],
    ["outpost-ed25519 AAAA web-1", "32 bytes"],
    ["# comment", "no public key line"],
  ])("refuses %p naming the problem", async (bad, message) => {
    await using dir = tempDir()
    expect(() => enrollKey(join(dir.path, "k"), bad)).toThrow(message)
  })
})
