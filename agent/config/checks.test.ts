import { describe, expect, test } from "bun:test"
import { parseConfig } from "../../shared/config/index.ts"
import { checkAgentConfig, checkEnvelopeFit, envelopeLimit } from "./checks.ts"
import { AgentConfigSchema } from "./schema.ts"

const MiB = 1024 * 1024
const config = (logs: Record<string, unknown>, batch: Record<string, unknown> = {}) =>
  parseConfig(
    {
      agent_id: "a",
      state_dir: "/s",
      private_key_file: "/k",
      batch,
      logs: [{ name: "app", paths: ["/x"], ...logs }],
    },
    AgentConfigSchema,
  )

describe("line cap and read size against batch.max_bytes (before connecting)", () => {
  test.each([
    ["the defaults", {}, {}],
    [
      "a line cap equal to batch.max_bytes",
      { max_line_bytes: 65536, read_chunk_bytes: 16384 },
      { max_bytes: 65536 },
    ],
  ])("%s pass", (_what, logs, batch) => {
    expect(() => checkAgentConfig(config(logs, batch))).not.toThrow()
  })

  test.each([
    [
      "a 4 MiB line cap with the default batch",
      { max_line_bytes: 4 * MiB },
      {},
      "logs[app].max_line_bytes: 4194304 is larger than batch.max_bytes 921600",
    ],
    [
      "a read chunk above batch.max_bytes",
      { read_chunk_bytes: 2 * MiB },
      {},
      "logs[app].read_chunk_bytes: 2097152 is larger than batch.max_bytes 921600",
    ],
    [
      "a line cap one byte above batch.max_bytes",
      { max_line_bytes: 65537 },
      { max_bytes: 65536 },
      "set it to at most 65536 or raise batch.max_bytes",
    ],
  ])("%s is refused naming the field", (_what, logs, batch, message) => {
    expect(() => checkAgentConfig(config(logs, batch), "agent.toml")).toThrow(message)
    expect(() => checkAgentConfig(config(logs, batch), "agent.toml")).toThrow(/^agent\.toml: /)
  })

  test("every problem is reported at once", () => {
    const c = config({ max_line_bytes: 4 * MiB, read_chunk_bytes: 2 * MiB })
    expect(() => checkAgentConfig(c)).toThrow(/max_line_bytes[\s\S]*read_chunk_bytes/)
  })
})

describe("line cap and read size against the server's max_payload (after connecting)", () => {
  test("a 1 MiB server leaves 960 KiB per envelope; a cap that fits with its margin passes, one above is refused", () => {
    expect(envelopeLimit(8 * MiB, MiB)).toBe(MiB - 64 * 1024)
    expect(envelopeLimit(64 * 1024, MiB)).toBe(64 * 1024)
    const limit = MiB - 64 * 1024
    expect(() =>
      checkEnvelopeFit(config({ max_line_bytes: limit - 1024 }, { max_bytes: 8 * MiB }), MiB),
    ).not.toThrow()
    expect(() =>
      checkEnvelopeFit(config({ max_line_bytes: limit - 1023 }, { max_bytes: 8 * MiB }), MiB),
    ).toThrow(
      "logs[app].max_line_bytes: 982017 does not fit one envelope: the envelope limit is 983040 bytes " +
        "(the server's max_payload 1048576 minus 65536 for headers and manifest), and a line needs " +
        "max_line_bytes + 1024 bytes; set max_line_bytes to at most 982016",
    )
  })

  test("a read chunk above the server's limit is refused", () => {
    const c = config({ read_chunk_bytes: 512 * 1024 })
    expect(() => checkEnvelopeFit(c, 512 * 1024)).toThrow("logs[app].read_chunk_bytes: 524288 does not fit")
  })

  test("a server whose max_payload leaves no room at all is refused", () => {
    expect(envelopeLimit(MiB, 32 * 1024)).toBe(0)
    expect(() => checkEnvelopeFit(config({}), 32 * 1024)).toThrow("max_payload 32768 leaves no room")
  })
})
