import { describe, expect, test } from "bun:test"
import { parseConfig } from "../../shared/config/index.ts"
import { ConfigError } from "../../shared/errors.ts"
import { formatPublicKeyLine, generateAgentKeyPair } from "../../shared/protocol/keys.ts"
import { checkAgentConfig } from "../config/checks.ts"
import { AgentConfigSchema } from "../config/schema.ts"
import { previewKeys, previewWarnings } from "./checks.ts"

const line = formatPublicKeyLine(generateAgentKeyPair().publicKeyRaw, "collector")
const config = (preview: Record<string, unknown>) =>
  parseConfig({ agent_id: "a", state_dir: "/s", private_key_file: "/k", preview }, AgentConfigSchema)

describe("[preview]", () => {
  test("key lines become keys; a bad one is named by its index", () => {
    expect(previewKeys(config({ collector_public_keys: [line, line] }).preview).keys).toHaveLength(2)
    const c = config({ collector_public_keys: [line, "outpost-ed25519 AAAA collector"] })
    expect(() => checkAgentConfig(c, "agent.toml")).toThrow(
      "agent.toml: preview.collector_public_keys[1]: key must decode to 32 bytes, got 3",
    )
    expect(() => checkAgentConfig(c)).toThrow(ConfigError)
  })

  test("a url that is not http(s) is refused by the schema, naming the field", () => {
    expect(() => config({ url: "ftp://x" })).toThrow(/preview\.url/)
  })

  test("warnings: no url, a url to localhost, a page served on loopback; none without keys", () => {
    const http = { enabled: true, host: "127.0.0.1" }
    expect(previewWarnings(config({}).preview, http)).toEqual([])
    expect(previewWarnings(config({ collector_public_keys: [line] }).preview, http)).toEqual([
      "preview.url is not set: alerts from this agent carry no link to the preview page",
    ])
    const local = previewWarnings(
      config({ collector_public_keys: [line], url: "http://127.0.0.1:4406" }).preview,
      http,
    )
    expect(local[0]).toStartWith("preview.url http://127.0.0.1:4406 points at localhost")
    expect(local[1]).toStartWith("preview: [http] host 127.0.0.1 serves this host only")
    const good = config({ collector_public_keys: [line], url: "https://edge-1.internal:4406" }).preview
    expect(previewWarnings(good, { enabled: true, host: "0.0.0.0" })).toEqual([])
    expect(previewWarnings(good, { enabled: false, host: "0.0.0.0" })).toEqual([
      "preview: [http] enabled = false, so the preview page is not served",
    ])
  })
})
