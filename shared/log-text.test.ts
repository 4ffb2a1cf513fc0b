import { describe, expect, test } from "bun:test"
import { safeText } from "./log-text.ts"

describe("safeText", () => {
  test("escapes terminal control sequences, newlines and C1 characters", () => {
    expect(safeText("a\u001b[2Jb\nc\u0085d\u007f")).toBe("a\\x1b[2Jb\\x0ac\\x85d\\x7f")
  })
  test("keeps printable text, including non-ASCII, and cuts long text saying how much was cut", () => {
    expect(safeText("grüße ✓")).toBe("grüße ✓")
    expect(safeText("x".repeat(20), 5)).toBe("xxxxx… (15 more)")
  })
})
