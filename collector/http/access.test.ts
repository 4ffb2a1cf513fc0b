import { describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Value } from "@sinclair/typebox/value"
import { tempDir } from "../../test/harness/index.ts"
import { type HttpConfig, HttpConfigSchema } from "../config/http-schema.ts"
import { type HttpAccess, hostAllowed, originAllowed, tokenMatches } from "./access.ts"
import { resolveHttpAccess } from "./access-config.ts"

const access: HttpAccess = {
  token: null,
  bindHost: "10.0.0.5",
  allowedHosts: ["collector.example.net", "proxy.example.net:8443"],
  port: 4480,
}

const http = (fields: Partial<HttpConfig>): HttpConfig => ({
  ...(Value.Default(HttpConfigSchema, {}) as HttpConfig),
  ...fields,
})

describe("Host check", () => {
  test.each([
    ["localhost:4480", true],
    ["LOCALHOST:4480", true],
    ["127.0.0.1:4480", true],
    ["[::1]:4480", true],
    ["10.0.0.5:4480", true],
    ["collector.example.net", true],
    ["collector.example.net:9999", true],
    ["proxy.example.net:8443", true],
    ["localhost:4481", false],
    ["localhost", false],
    ["10.0.0.5:80", false],
    ["proxy.example.net", false],
    ["evil.example:4480", false],
    ["attacker.localhost.example:4480", false],
    ["127.0.0.1@evil:4480", false],
    ["[fd00::5]:4480", false],
    ["", false],
  ])("%p -> %p", (host, allowed) => {
    expect(hostAllowed(access, host)).toBe(allowed)
  })

  test("an IPv6 http.host is accepted in brackets with the port", () => {
    expect(hostAllowed({ ...access, bindHost: "fd00::5" }, "[fd00::5]:4480")).toBe(true)
    expect(hostAllowed({ ...access, bindHost: "[fd00::5]" }, "[FD00::5]:4480")).toBe(true)
  })

  test.each([
    ["http://localhost:4480", true],
    ["http://collector.example.net", true],
    ["https://proxy.example.net:8443", true],
    ["https://proxy.example.net", false],
    ["http://evil.example", false],
    ["null", false],
    ["file://localhost:4480", false],
  ])("Origin %p -> %p", (origin, allowed) => {
    expect(originAllowed(access, origin)).toBe(allowed)
  })
})

describe("bearer token", () => {
  const token = "0123456789abcdef-token"
  test.each([
    [`Bearer ${token}`, true],
    [`bearer ${token}`, true],
    [`Bearer ${token}x`, false],
    [`Bearer ${token.slice(1)}`, false],
    [`Basic ${token}`, false],
    ["Bearer ", false],
    [null, false],
  ])("%p -> %p", (header, ok) => {
    expect(tokenMatches(token, header)).toBe(ok)
  })
})

describe("resolveHttpAccess", () => {
  const quiet = () => {}

  test("without a token a non-loopback host is refused, naming http.token", () => {
    for (const host of ["0.0.0.0", "::", "10.0.0.5", "collector.example.net"]) {
      expect(() => resolveHttpAccess(http({ host }), quiet)).toThrow(/http\.token/)
    }
  })

  test("without a token on loopback it says so", () => {
    const lines: string[] = []
    const a = resolveHttpAccess(http({ host: "127.0.0.1" }), (l) => lines.push(l))
    expect(a.token).toBeNull()
    expect(lines).toEqual(["HTTP on loopback only, no token"])
    expect(resolveHttpAccess(http({ host: "::1" }), quiet).token).toBeNull()
    expect(resolveHttpAccess(http({ host: "localhost" }), quiet).token).toBeNull()
  })

  test("with a token any host may be bound", () => {
    const a = resolveHttpAccess(http({ host: "0.0.0.0", token: "a-long-enough-token" }), quiet)
    expect(a.token).toBe("a-long-enough-token")
  })

  test("token_file is read and trimmed; unreadable, short or both set are config errors", async () => {
    await using dir = tempDir()
    const file = join(dir.path, "token")
    writeFileSync(file, "  from-a-file-0123456789\n")
    expect(resolveHttpAccess(http({ host: "0.0.0.0", token_file: file }), quiet).token).toBe(
      "from-a-file-0123456789",
    )
    expect(() => resolveHttpAccess(http({ token_file: join(dir.path, "missing") }), quiet)).toThrow(
      /http\.token_file .* cannot be read/,
    )
    writeFileSync(file, "short\n")
    expect(() => resolveHttpAccess(http({ token_file: file }), quiet)).toThrow(/at least 16 characters/)
    expect(() => resolveHttpAccess(http({ token: "a-long-enough-token", token_file: file }), quiet)).toThrow(
      /both set/,
    )
  })
})
