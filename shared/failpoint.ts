import { writeSync } from "node:fs"

/**
 * Fault injection for crash tests (as etcd's gofail or TiKV's fail-rs): a test starts a process with
 * `OUTPOST_FAILPOINTS=name[=kill],...` and the process kills itself with SIGKILL at that exact place, after one
 * line on stderr. Unset, a point costs one lookup in an empty Set. `kill` is the only action. The points:
 *
 *   - `collector.after-commit`: a batch is committed to DuckDB and none of its messages is acked yet
 *     (collector/ingest/process-batch.ts; used by test/e2e/commit-ack-crash.int.test.ts).
 */
export const FAILPOINT_NAMES = ["collector.after-commit"] as const

/** A place in the code where a test may crash the process. */
export type FailpointName = (typeof FAILPOINT_NAMES)[number]

/** Names armed by an `OUTPOST_FAILPOINTS` value; throws on an unknown name or action, so no test passes vacuously. */
export function parseFailpoints(spec: string | undefined): ReadonlySet<string> {
  const armed = new Set<string>()
  for (const item of (spec ?? "").split(",")) {
    const entry = item.trim()
    if (entry === "") continue
    const eq = entry.indexOf("=")
    const name = eq < 0 ? entry : entry.slice(0, eq)
    const action = eq < 0 ? "kill" : entry.slice(eq + 1)
    if (!(FAILPOINT_NAMES as readonly string[]).includes(name))
      throw new Error(
        `OUTPOST_FAILPOINTS: unknown failpoint '${name}' (known: ${FAILPOINT_NAMES.join(", ")})`,
      )
    if (action !== "kill")
      throw new Error(`OUTPOST_FAILPOINTS: failpoint '${name}' has action '${action}'; only 'kill' exists`)
    armed.add(name)
  }
  return armed
}

// Read once, at load: a bad value stops the process at start, not at the point.
const armed = parseFailpoints(process.env.OUTPOST_FAILPOINTS)

/** Kills the process with SIGKILL when `name` is armed in `OUTPOST_FAILPOINTS`; otherwise does nothing. */
export function failpoint(name: FailpointName): void {
  if (!armed.has(name)) return
  // Synchronous: an asynchronous stderr write would be lost with the process.
  writeSync(2, `failpoint ${name}: killing the process\n`)
  process.kill(process.pid, "SIGKILL")
}
