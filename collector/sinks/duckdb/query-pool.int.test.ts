import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { join } from "node:path"

setDefaultTimeout(120_000)

describe("QueryPool with room for two queries", () => {
  test("query-pool.test.ts passes with UV_THREADPOOL_SIZE=4, including the two-slot cases", async () => {
    // its own per-test timeout: the default 5 s is too close to the OOM case's ~5 s on a busy 2-core machine
    const proc = Bun.spawn(
      [process.execPath, "test", "--timeout", "30000", join(import.meta.dir, "query-pool.test.ts")],
      {
        env: { ...process.env, UV_THREADPOOL_SIZE: "4" },
        stdout: "pipe",
        stderr: "pipe",
      },
    )
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    const report = `${out}${err}`
    if (code !== 0)
      console.log(
        report
          .split("\n")
          .filter((l) => /\(fail\)|error|Expected|Received/.test(l))
          .join("\n"),
      )
    expect(report).toContain("(pass) QueryPool > a short query answers at once beside a long one")
    expect(report).not.toContain("(skip)")
    expect(code).toBe(0)
  })
})
