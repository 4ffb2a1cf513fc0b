import { describe, expect, test } from "bun:test"
import { EnvelopeError } from "../errors.ts"
import { decodeLogsBody, encodeLogsBody } from "./logs-body.ts"

const te = new TextEncoder()

describe("logs body", () => {
  test("round-trips manifest and payload", () => {
    const raw = te.encode("a\nbb\n")
    const line = te.encode("ERROR disk full")
    const body = encodeLogsBody(
      [{ path: "/var/log/app.log", gen: "g1" }],
      [{ f: 0, s: 10, e: 40 }],
      [
        { f: 0, o: 10, n: raw.length, raw: 1, at: 5 },
        { f: 0, o: 15, n: line.length, r: "errors", at: 6 },
      ],
      [raw, line],
    )
    const { manifest, payload } = decodeLogsBody(body)
    expect(manifest.files[0]?.path).toBe("/var/log/app.log")
    expect(manifest.parts[1]?.r).toBe("errors")
    expect(new TextDecoder().decode(payload)).toBe("a\nbb\nERROR disk full")
  })

  test.each([
    ["empty", new Uint8Array(0)],
    ["length past end", new Uint8Array([255, 0, 0, 0, 1])],
    ["not json", new Uint8Array([1, 0, 0, 0, 123])],
    [
      "payload size mismatch",
      encodeLogsBody([{ path: "p", gen: "g" }], [], [{ f: 0, o: 0, n: 9, at: 1 }], [te.encode("x")]),
    ],
    ["span past file list", encodeLogsBody([], [{ f: 0, s: 0, e: 1 }], [], [])],
    [
      "empty raw part",
      encodeLogsBody([{ path: "p", gen: "g" }], [], [{ f: 0, o: 0, n: 0, raw: 1, at: 1 }], []),
    ],
    ["unknown file", encodeLogsBody([], [], [{ f: 0, o: 0, n: 1, at: 1 }], [te.encode("x")])],
  ])("%s is rejected as bad_body", (_name, body) => {
    expect(() => decodeLogsBody(body)).toThrow(EnvelopeError)
  })
})
