import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { parseFailpoints } from "./failpoint.ts"

const module = join(import.meta.dir, "failpoint.ts")
// A child that passes the point, then says so.
const script = `import { failpoint } from ${JSON.stringify(module)}; failpoint("collector.after-commit"); console.log("passed")`

/** Runs the child script with `OUTPOST_FAILPOINTS` set to `spec` (unset when undefined). */
async function runChild(spec: string | undefined) {
  const env: Record<string, string | undefined> = { ...process.env, OUTPOST_FAILPOINTS: spec }
  if (spec === undefined) delete env.OUTPOST_FAILPOINTS
  const proc = Bun.spawn([process.execPath, "-e", script], { env, stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ])
  await proc.exited
  return { code: proc.exitCode, signal: proc.signalCode, stdout, stderr }
}

describe("failpoint", () => {
  test("unset: the point does nothing and the process exits normally", async () => {
    expect(await runChild(undefined)).toEqual({ code: 0, signal: null, stdout: "passed\n", stderr: "" })
  })

  test.each([["collector.after-commit"], ["collector.after-commit=kill"], [" collector.after-commit ,"]])(
    "armed as %p: one line on stderr, then the process dies by SIGKILL at the point",
    async (spec) => {
      const r = await runChild(spec)
      expect(r.signal).toBe("SIGKILL")
      expect(r.stdout).toBe("")
      expect(r.stderr).toBe("failpoint collector.after-commit: killing the process\n")
    },
  )

  test.each([
    ["unknown name", "collector.after-comit", "unknown failpoint 'collector.after-comit'"],
    ["unknown action", "collector.after-commit=panic", "action 'panic'; only 'kill' exists"],
  ])("%s: refused when read, before any point is reached", async (_, spec, message) => {
    expect(() => parseFailpoints(spec)).toThrow(message)
    const r = await runChild(spec)
    expect(r.code).not.toBe(0)
    expect(r.signal).toBe(null)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain(message)
  })

  test("an empty value arms nothing", () => {
    expect(parseFailpoints("").size).toBe(0)
    expect(parseFailpoints(undefined).size).toBe(0)
  })
})
