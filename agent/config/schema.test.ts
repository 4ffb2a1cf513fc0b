import { describe, expect, test } from "bun:test"
import { hostname } from "node:os"
import { Value } from "@sinclair/typebox/value"
import { AGENT_ID_PATTERN } from "../../shared/protocol/keys.ts"
import { type AgentConfig, AgentConfigSchema, agentIdFromHostname } from "./schema.ts"

const minimal = { state_dir: "/var/lib/outpost", private_key_file: "/etc/outpost/agent.key" }
const withDefaults = (raw: object): AgentConfig => {
  const value = Value.Default(AgentConfigSchema, structuredClone(raw))
  expect([...Value.Errors(AgentConfigSchema, value)].map((e) => `${e.path}: ${e.message}`)).toEqual([])
  return value as AgentConfig
}

describe("agent_id default", () => {
  test.each([
    ["a plain name", "edge-1", "edge-1"],
    ["upper case", "WEB01", "web01"],
    ["an FQDN", "web-01.eu.example.com", "web-01-eu-example-com"],
    ["spaces and other characters", "Jane's MacBook Pro", "jane-s-macbook-pro"],
    ["underscores kept", "db_2", "db_2"],
    ["non-ASCII", "café", "caf-"],
    ["too long", "h".repeat(80), "h".repeat(64)],
    ["empty (no host name)", "", "agent"],
  ])("%s: %p -> %p", (_what, host, id) => {
    expect(agentIdFromHostname(host)).toBe(id)
    expect(AGENT_ID_PATTERN.test(id)).toBe(true)
  })

  test("a config without agent_id gets this host's name; one that has it keeps it", () => {
    expect(withDefaults(minimal).agent_id).toBe(agentIdFromHostname(hostname()))
    expect(withDefaults({ ...minimal, agent_id: "Edge_7" }).agent_id).toBe("Edge_7")
  })
})

describe("[http]", () => {
  test("defaults: enabled, this host only, port 4406", () => {
    expect(withDefaults(minimal).http).toEqual({ enabled: true, host: "127.0.0.1", port: 4406 })
    expect(withDefaults({ ...minimal, http: { port: 0 } }).http).toEqual({
      enabled: true,
      host: "127.0.0.1",
      port: 0,
    })
  })

  test.each([
    ["a port out of range", { port: 70000 }, "/http/port"],
    ["a port that is not a number", { port: "eighty" }, "/http/port"],
    ["an unknown key", { listen: "0.0.0.0:4406" }, "/http/listen"],
    ["enabled not a boolean", { enabled: "yes" }, "/http/enabled"],
  ])("rejects %s", (_what, http, path) => {
    const value = Value.Default(AgentConfigSchema, { ...minimal, http })
    expect([...Value.Errors(AgentConfigSchema, value)].map((e) => e.path)).toContain(path)
  })
})
