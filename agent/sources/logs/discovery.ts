import { resolve } from "node:path"
import { type FSWatcher, watch } from "chokidar"

/** One configured path: a literal file, or a glob split at its first segment with glob syntax. */
type Pattern = { path: string; base: string; rest?: Bun.Glob; full: Bun.Glob; depth: number | undefined }

const MAGIC = /[*?[\]{}!]/

function parsePattern(configured: string): Pattern {
  const path = resolve(configured)
  const segments = path.split("/")
  const first = segments.findIndex((s) => MAGIC.test(s))
  const full = new Bun.Glob(path)
  if (first === -1) return { path, base: segments.slice(0, -1).join("/") || "/", full, depth: 0 }
  const rest = segments.slice(first)
  return {
    path,
    base: segments.slice(0, first).join("/") || "/",
    rest: new Bun.Glob(rest.join("/")),
    full,
    depth: rest.some((s) => s.includes("**")) ? undefined : rest.length - 1,
  }
}

/** Finds the files that a source's `paths` (files and globs) name, and watches their directories. */
export type Discovery = {
  /** absolute paths that match now (literal paths are listed whether or not they exist) */
  scan(): Set<string>
  /** starts a chokidar watcher; `add`: a new file may have appeared; `onReady` once it is watching */
  watch(
    onEvent: (kind: "add" | "change" | "unlink") => void,
    onError: (error: unknown) => void,
    onReady?: () => void,
  ): void
  close(): Promise<void>
}

/** Creates the discovery for configured paths; relative ones resolve against the working directory. */
export function createDiscovery(paths: string[]): Discovery {
  const patterns = paths.map(parsePattern)
  const matches = (path: string) => patterns.some((p) => p.full.match(path))
  let watcher: FSWatcher | undefined

  return {
    scan() {
      const found = new Set<string>()
      for (const p of patterns) {
        if (!p.rest) {
          found.add(p.path)
          continue
        }
        try {
          for (const file of p.rest.scanSync({ cwd: p.base, absolute: true, onlyFiles: true, dot: true })) {
            found.add(file)
          }
        } catch {
          // base directory missing or unreadable: nothing matches yet
        }
      }
      return found
    },
    watch(onEvent, onError, onReady) {
      // chokidar 4+ has no globs: watch each base directory and let through only files that match
      const depths = patterns.map((p) => p.depth)
      watcher = watch([...new Set(patterns.map((p) => p.base))], {
        ignoreInitial: true,
        depth: depths.includes(undefined) ? undefined : Math.max(...(depths as number[])),
        ignored: (path, stats) => stats?.isFile() === true && !matches(path),
      })
      watcher.on("add", () => onEvent("add"))
      watcher.on("change", () => onEvent("change"))
      watcher.on("unlink", () => onEvent("unlink"))
      watcher.on("error", onError)
      if (onReady) watcher.on("ready", onReady)
    },
    async close() {
      await watcher?.close()
      watcher = undefined
    },
  }
}
