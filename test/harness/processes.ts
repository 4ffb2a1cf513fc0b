import { createWriteStream, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Subprocess } from "bun"

const root = join(import.meta.dir, "../..")

/** A child process whose output goes to a log file (read it when a test fails). */
export type Child = {
  proc: Subprocess
  logPath: string
  /** SIGTERM and wait; returns the exit code */
  stop(): Promise<number | null>
  /** SIGKILL and wait: a crash */
  kill9(): Promise<void>
}

/** Spawns `cmd`, appending stdout and stderr to `logPath`. */
export function spawnLogged(cmd: string[], logPath: string, env: Record<string, string> = {}): Child {
  const out = createWriteStream(logPath, { flags: "a" })
  // As the systemd unit sets it: room in the runtime's worker pool for /sql beside the DuckDB writer.
  const base = { UV_THREADPOOL_SIZE: "4", ...process.env }
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: { ...base, ...env }, cwd: root })
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) out.write(chunk)
  }
  void pump(proc.stdout as ReadableStream<Uint8Array>)
  void pump(proc.stderr as ReadableStream<Uint8Array>)
  return {
    proc,
    logPath,
    async stop() {
      proc.kill("SIGTERM")
      return await proc.exited
    },
    async kill9() {
      proc.kill("SIGKILL")
      await proc.exited
    },
  }
}

/** Command that runs the agent from source with this Bun, or a compiled binary when given. */
export function agentCommand(configPath: string, binary?: string): string[] {
  return binary
    ? [binary, "run", "--config", configPath]
    : [process.execPath, join(root, "agent/cli/main.ts"), "run", "--config", configPath]
}

export function collectorCommand(configPath: string): string[] {
  return [process.execPath, join(root, "collector/cli/main.ts"), "run", "--config", configPath]
}

/** Compiles the agent into a single file (as `bun run build` does) for tests that run the shipped binary. */
export async function compileAgent(outfile: string): Promise<string> {
  const proc = Bun.spawn(
    [process.execPath, "build", "--compile", join(root, "agent/cli/main.ts"), "--outfile", outfile],
    { stdout: "pipe", stderr: "pipe", cwd: root },
  )
  if ((await proc.exited) !== 0)
    throw new Error(`agent build failed: ${await new Response(proc.stderr).text()}`)
  return outfile
}

/** Writes a JSON config file and returns its path. */
export function writeConfig(path: string, config: unknown): string {
  writeFileSync(path, JSON.stringify(config, null, 2))
  return path
}
