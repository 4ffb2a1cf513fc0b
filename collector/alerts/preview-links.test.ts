import { describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { generateAgentKeyPair, loadPrivateKey, publicKeyFromRaw } from "../../shared/protocol/keys.ts"
import { verifyPreviewToken } from "../../shared/protocol/preview-token.ts"
import { tempDir } from "../../test/harness/index.ts"
import type { AgentPresence } from "../kinds/heartbeats/index.ts"
import { createPreviewLinker, loadPreviewKey } from "./preview-links.ts"

const pair = generateAgentKeyPair()
const presence = (previewUrl: string | null) =>
  new Map<string, AgentPresence>([
    [
      "edge-1",
      {
        host: "h",
        entryId: 1,
        lastSentAt: 0,
        lastReceivedAt: 0,
        version: "v",
        startedAt: 0,
        intervalS: 10,
        previewUrl,
      },
    ],
  ])
const line = {
  text: "ERROR",
  agent: "edge-1",
  file: "/f",
  gen: "0b6cb7b4-3a3e-4a4f-9d57-1f2a3b4c5d6e",
  offset: 40,
  end: 45,
  at: 5,
}

describe("preview links", () => {
  test("the agent's URL with a token this key signed, binding agent, generation, offset and expiry", () => {
    const link = createPreviewLinker({
      key: loadPrivateKey(pair.privateKeyPem).privateKey,
      ttlMs: 60_000,
      presence: () => presence("https://edge-1.internal:4406/"),
      now: () => 1_000,
    })(line) as string
    expect(link).toMatch(/^https:\/\/edge-1\.internal:4406\/preview\?t=[A-Za-z0-9_-]+#match$/)
    const token = new URL(link).searchParams.get("t") as string
    const v = verifyPreviewToken(token, {
      publicKeys: [publicKeyFromRaw(pair.publicKeyRaw)],
      agent: "edge-1",
      now: 2_000,
    })
    expect(v).toEqual({
      ok: true,
      claims: { agent: "edge-1", gen: line.gen, offset: 40, expiresAt: 61_000, line_end: 45, at: 5 },
    })
  })

  test("no link for an agent that advertises no preview URL", () => {
    const linker = createPreviewLinker({
      key: loadPrivateKey(pair.privateKeyPem).privateKey,
      ttlMs: 60_000,
      presence: () => presence(null),
    })
    expect(linker(line)).toBeUndefined()
  })

  test("a key file that is not an Ed25519 key is a config error naming the field", async () => {
    await using dir = tempDir()
    const path = join(dir.path, "bad.key")
    writeFileSync(path, "not a key\n")
    expect(() => loadPreviewKey(path)).toThrow(/^alerts\.preview_key_file: cannot use .*bad\.key/)
  })
})
