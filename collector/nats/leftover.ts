import { readFileSync } from "node:fs"
import { basename } from "node:path"

const TERM_GRACE_MS = 5000

/**
 * Stops a nats-server that a previous collector run left behind (its pid is in `pidFile` and its command line
 * names `confPath`), so that the new one can take the port: SIGTERM, then SIGKILL after 5 s.
 * Returns the pid it stopped, or undefined when there was none.
 */
export async function stopLeftoverServer(
  pidFile: string,
  confPath: string,
  log: (message: string) => void,
): Promise<number | undefined> {
  let pid: number
  try {
    pid = Number(readFileSync(pidFile, "utf8").trim())
  } catch {
    return undefined
  }
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return undefined
  const args = commandLine(pid)
  // A stale pid file may name a pid that now belongs to something else: touch only our own nats-server.
  if (!args.some((arg) => basename(arg) === "nats-server") || !args.includes(confPath)) return undefined
  log(
    `a nats-server from a previous collector run (pid ${pid}) is still running with ${confPath}: stopping it`,
  )
  signal(pid, "SIGTERM")
  if (!(await gone(pid, TERM_GRACE_MS))) {
    log(`nats-server pid ${pid} did not stop within ${TERM_GRACE_MS / 1000} s of SIGTERM: killing it`)
    signal(pid, "SIGKILL")
    if (!(await gone(pid, TERM_GRACE_MS)))
      throw new Error(`cannot stop the leftover nats-server (pid ${pid})`)
  }
  return pid
}

// Empty for a process that is gone (or a zombie, which holds no port).
function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean)
  } catch {
    return []
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch {
    // already gone
  }
}

// Not our child, so there is no exit event to wait for: look at /proc until it is gone.
async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (commandLine(pid).length > 0) {
    if (Date.now() > deadline) return false
    await Bun.sleep(50)
  }
  return true
}
