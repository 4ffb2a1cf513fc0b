import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { join } from "node:path"

setDefaultTimeout(120_000)

describe("QueryPool with room for two queries", () => {
  test("query-pool.test.ts passes with UV_THREADPOOL_SIZE=4, including the two-slot cases", async () => {
    const proc = Bun.spawn([process.execPath, "test", join(import.meta.dir, "query-pool.test.ts")], {
      env: { ...process.env, UV_THREADPOOL_SIZE: "4" },
      stdout: "pipe",
      stderr: "pipe",
    })
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    const report = `${out}${err}`
    expect(report).toContain("(pass) QueryPool > a short query answers at once beside a long one")
    expect(report).not.toContain("(skip)")
    expect(code).toBe(0)
  })
})
