/** promtool (Debian package `prometheus`), or undefined where it is not installed. */
export const PROMTOOL: string | undefined = Bun.which("promtool") ?? undefined

/** Says once per test file that promtool checks are skipped, so that a missing tool is seen, not silent. */
export function warnIfNoPromtool(what: string): void {
  if (!PROMTOOL) console.warn(`promtool not found (Debian: apt-get install prometheus): skipping ${what}`)
}

/** Runs promtool with `args` (and `stdin`); its exit code and everything it printed. */
export async function promtool(args: string[], stdin?: string): Promise<{ code: number; output: string }> {
  if (!PROMTOOL) throw new Error("promtool is not installed")
  const proc = Bun.spawn([PROMTOOL, ...args], {
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  })
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { code, output: `${out}${err}`.trim() }
}
