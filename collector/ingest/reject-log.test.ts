import { describe, expect, test } from "bun:test"
import { createRejectLog } from "./reject-log.ts"

describe("reject log", () => {
  test("one line per reason per interval; held-back lines are counted in the next one; text is escaped", () => {
    const lines: string[] = []
    let t = 0
    const reject = createRejectLog(
      (m) => lines.push(m),
      1000,
      () => t,
    )
    for (let i = 0; i < 500; i++) reject("malformed", `junk \u001b[31m${i}`)
    reject("signature", "bad")
    t = 1500
    reject("malformed", "later")
    expect(lines).toEqual([
      "rejected (malformed): junk \\x1b[31m0",
      "rejected (signature): bad",
      "rejected (malformed): later (and 499 more 'malformed' since the last such line)",
    ])
  })
})
