/** Temp directories and child processes that are always cleaned up, deadlines, and the bench runner. */
import { mkdtempSync, rmSync } from "node:fs"
import { join } from "node:path"
import { childPids } from "./proc.ts"

type Cleanup = { name: string; run: () => Promise<void> | void }
const cleanups: Cleanup[] = []
const tempDirs: string[] = []
let keepTemp = false
let cleaning: Promise<void> | undefined

/** Registers an async cleanup; they run in reverse order at the end, on error, signal or deadline. */
export function onCleanup(name: string, run: () => Promise<void> | void): void {
  cleanups.push({ name, run })
}

/** Runs every registered cleanup once (each bounded to 10 s), then removes the temp dirs. */
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const c = cleanups.pop() as Cleanup
      try {
        await Promise.race([
          c.run(),
          Bun.sleep(10_000).then(() => {
            throw new Error("took over 10 s")
          }),
        ])
      } catch (error) {
        console.error(`bench: cleanup '${c.name}' failed: ${(error as Error).message}`)
      }
    }
    killOwnChildrenSync()
    removeTempDirsSync()
  })()
  return cleaning
}

/** Last resort on exit: SIGKILL whatever this process started and still runs, remove temp data. */
function killOwnChildrenSync(): void {
  for (const pid of childPids(process.pid)) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
}

function removeTempDirsSync(): void {
  for (const dir of tempDirs.splice(0)) {
    if (keepTemp) console.log(`bench: kept ${dir}`)
    else rmSync(dir, { recursive: true, force: true })
  }
}

let installed = false
function installHandlers(): void {
  if (installed) return
  installed = true
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}, cleaning up`)
      void cleanupAll().finally(() => process.exit(130))
    })
  }
  process.on("exit", () => {
    killOwnChildrenSync()
    removeTempDirsSync()
  })
}

/** A fresh directory under /tmp, removed at the end unless `keep`. */
export function benchDir(prefix: string, keep: boolean): string {
  installHandlers()
  keepTemp = keep
  const dir = mkdtempSync(join("/tmp", prefix))
  tempDirs.push(dir)
  return dir
}

/**
 * Runs `main` with a hard runtime limit; prints the error, cleans up and exits non-zero on failure.
 * Exit codes: 0 ok, 1 error, 124 runtime limit.
 */
export async function runBench(
  name: string,
  maxSeconds: number,
  main: () => Promise<number>,
): Promise<never> {
  installHandlers()
  let limitReached = false
  const deadline = setTimeout(() => {
    limitReached = true
    console.error(`\n${name}: runtime limit of ${maxSeconds} s reached, stopping`)
    void cleanupAll().finally(() => process.exit(124))
  }, maxSeconds * 1000)
  let code = 1
  try {
    code = await main()
  } catch (error) {
    // after the runtime limit the cleanup pulls things away from under `main`: that error is expected
    if (!limitReached) {
      console.error(
        `\n${name}: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      )
    }
    code = 1
  } finally {
    clearTimeout(deadline)
    await cleanupAll()
  }
  process.exit(limitReached ? 124 : code)
}
