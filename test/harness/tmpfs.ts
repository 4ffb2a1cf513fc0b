import { mkdirSync } from "node:fs"

/**
 * Mounts a tmpfs of `size` (e.g. "24m") at `path` for a full-disk test. It needs root (CI runs as root);
 * elsewhere it says why the test is skipped and returns false. Unmount with `umount -l` after.
 */
export function mountTmpfs(path: string, size: string): boolean {
  mkdirSync(path, { recursive: true })
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", path])
  if (r.exitCode !== 0)
    console.warn(`skipping the full-disk test: cannot mount a tmpfs (${r.stderr.toString().trim()})`)
  return r.exitCode === 0
}
