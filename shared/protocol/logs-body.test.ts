import { describe, expect, test } from "bun:test"
import { EnvelopeError } from "../errors.ts"
import {
  decodeLogsBody,
  encodeLogsBody,
  type LogFileRef,
  type LogPart,
  type LogSpan,
  MAX_LOGS_FILES,
  MAX_LOGS_PARTS,
  MAX_LOGS_SPANS,
} from "./logs-body.ts"

const te = new TextEncoder()
const file: LogFileRef = { path: "p", gen: "g" }

/** A body of `n` one-byte line parts ("x"), one per offset. */
function lineParts(n: number, files: LogFileRef[] = [file], spans: LogSpan[] = []): Uint8Array {
  const parts: LogPart[] = Array.from({ length: n }, (_, i) => ({ f: 0, o: i, n: 1, at: 1 }))
  return encodeLogsBody(files, spans, parts, [new Uint8Array(n).fill(0x78)])
}

const manyFiles = (n: number) => Array.from({ length: n }, (_, i) => ({ path: "p", gen: `g${i}` }))
const manySpans = (n: number) => Array.from({ length: n }, (_, i) => ({ f: 0, s: i, e: i + 1 }))

/** The EnvelopeError `decode` throws, or undefined when it decodes. */
function failure(body: Uint8Array): EnvelopeError | undefined {
  try {
    decodeLogsBody(body)
    return undefined
  } catch (error) {
    if (error instanceof EnvelopeError) return error
    throw error
  }
}

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
    const { manifest, payload, lines } = decodeLogsBody(body)
    expect(manifest.files[0]?.path).toBe("/var/log/app.log")
    expect(manifest.parts[1]?.r).toBe("errors")
    expect(new TextDecoder().decode(payload)).toBe("a\nbb\nERROR disk full")
    expect(lines).toBe(3)
  })

  test.each([
    ["no parts", [], 0],
    ["one raw part of three lines", [["a\nb\nc\n", true]], 3],
    ["an empty line part", [["", false]], 1],
    ["a line part holding a newline still counts once", [["a\nb", false]], 1],
    [
      "raw, line, raw",
      [
        ["a\n", true],
        ["x", false],
        ["\n\n", true],
      ],
      4,
    ],
  ] as Array<[string, Array<[string, boolean]>, number]>)("lines: %s", (_name, parts, expected) => {
    const chunks = parts.map(([text]) => te.encode(text))
    const manifest: LogPart[] = parts.map(([, raw], i) => ({
      f: 0,
      o: i * 10,
      n: (chunks[i] as Uint8Array).length,
      at: 1,
      ...(raw ? { raw: 1 as const } : {}),
    }))
    expect(decodeLogsBody(encodeLogsBody([file], [], manifest, chunks)).lines).toBe(expected)
  })

  test.each([
    ["parts", () => lineParts(MAX_LOGS_PARTS)],
    ["files", () => lineParts(1, manyFiles(MAX_LOGS_FILES))],
    ["spans", () => lineParts(1, [file], manySpans(MAX_LOGS_SPANS))],
  ])("exactly the most %s allowed decodes", (_what, make) => {
    expect(failure(make())).toBeUndefined()
  })

  test.each([
    ["parts", () => lineParts(MAX_LOGS_PARTS + 1), `${MAX_LOGS_PARTS + 1} parts, more than the`],
    ["files", () => lineParts(1, manyFiles(MAX_LOGS_FILES + 1)), `${MAX_LOGS_FILES + 1} files`],
    ["spans", () => lineParts(1, [file], manySpans(MAX_LOGS_SPANS + 1)), `${MAX_LOGS_SPANS + 1} spans`],
  ])("one more %s than allowed is bad_body, naming the bound", (_what, make, message) => {
    const error = failure(make())
    expect(error?.code).toBe("bad_body")
    expect(error?.message).toContain(message)
  })

  test.each([
    ["empty", new Uint8Array(0)],
    ["length past end", new Uint8Array([255, 0, 0, 0, 1])],
    ["not json", new Uint8Array([1, 0, 0, 0, 123])],
    ["payload size mismatch", encodeLogsBody([file], [], [{ f: 0, o: 0, n: 9, at: 1 }], [te.encode("x")])],
    ["span past file list", encodeLogsBody([], [{ f: 0, s: 0, e: 1 }], [], [])],
    ["empty raw part", encodeLogsBody([file], [], [{ f: 0, o: 0, n: 0, raw: 1, at: 1 }], [])],
    [
      "raw part without its final newline",
      encodeLogsBody([file], [], [{ f: 0, o: 0, n: 3, raw: 1, at: 1 }], [te.encode("a\nb")]),
    ],
    ["unknown file", encodeLogsBody([], [], [{ f: 0, o: 0, n: 1, at: 1 }], [te.encode("x")])],
  ])("%s is rejected as bad_body", (_name, body) => {
    expect(failure(body)?.code).toBe("bad_body")
  })
})

describe("logs body bounds must be unsigned integers", () => {
  const x = te.encode("x")
  const span = (s: number, e: number) => encodeLogsBody([file], [{ f: 0, s, e }], [], [])
  // One part breaks the rule; a second one makes the sizes add up to the payload, so only that rule can refuse it.
  const parts = (bad: Partial<LogPart>, payload: Uint8Array = x) =>
    encodeLogsBody([file], [], [{ f: 0, o: 0, n: 1, at: 1, ...bad }], [payload])
  const twoParts = (n1: number, n2: number, payload: Uint8Array) =>
    encodeLogsBody(
      [file],
      [],
      [
        { f: 0, o: 0, n: n1, at: 1 },
        { f: 0, o: 10, n: n2, at: 1 },
      ],
      [payload],
    )
  const spanRule = "span bounds must be unsigned integers with s <= e"
  const partRule = "part offsets, sizes and times must be unsigned integers"

  test("a span with s = e and a part at offset 0 with time 0 decode", () => {
    expect(failure(span(5, 5))).toBeUndefined()
    expect(failure(parts({ o: 0, at: 0 }))).toBeUndefined()
  })

  test.each([
    ["a span with s > e", () => span(6, 5), spanRule],
    ["a span with a negative start", () => span(-1, 5), spanRule],
    ["a span with both bounds negative", () => span(-3, -2), spanRule],
    ["a span with a fractional start", () => span(1.5, 5), spanRule],
    ["a span with a fractional end", () => span(1, 4.5), spanRule],
    ["a span bound past 2^53", () => span(0, 2 ** 53), spanRule],
    ["a part at a negative offset", () => parts({ o: -1 }), partRule],
    ["a part at a fractional offset", () => parts({ o: 1.5 }), partRule],
    ["a part with a negative size", () => twoParts(-1, 2, x), partRule],
    ["a part with a fractional size", () => twoParts(0.5, 0.5, x), partRule],
    ["a part with a negative time", () => parts({ at: -1 }), partRule],
    ["a part with a fractional time", () => parts({ at: 1.5 }), partRule],
  ])("%s is bad_body", (_name, make, message) => {
    const error = failure(make())
    expect(error?.code).toBe("bad_body")
    expect(error?.message).toContain(message)
  })
})

describe("the parts account for every payload byte", () => {
  const te = new TextEncoder()
  const body = (extra: string) =>
    encodeLogsBody(
      [{ path: "/a", gen: "g" }],
      [{ f: 0, s: 0, e: 4 }],
      [{ f: 0, o: 0, n: 4, raw: 1, at: 1 }],
      [te.encode(`one\n${extra}`)],
    )

  test.each([
    ["bytes no part owns after the last part", "hidden"],
    ["one stray byte", "x"],
  ])("%s: bad_body", (_name, extra) => {
    let error: unknown
    try {
      decodeLogsBody(body(extra))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(EnvelopeError)
    expect((error as EnvelopeError).code).toBe("bad_body")
    expect((error as EnvelopeError).message).toContain(
      `logs parts cover 4 bytes but the payload has ${4 + extra.length}`,
    )
  })

  test("exactly the parts' bytes decode", () => {
    expect(decodeLogsBody(body("")).lines).toBe(1)
  })
})
