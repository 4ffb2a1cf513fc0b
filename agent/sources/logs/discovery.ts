import { resolve } from "node:path"
import { type FSWatcher, watch } from "chokidar"
import { statFile } from "./files.ts"

/** One configured path: a literal file, or a glob split at its first segment with glob syntax. */
type Pattern = {
  configured: string
  path: string
  base: string
  rest?: Bun.Glob
  full: Bun.Glob
  depth: number | undefined
}

const MAGIC = /[*?[\]{}!]/

const isRegular = (path: string) => {
  try {
    return statFile(path) !== undefined
  } catch {
    return false // e.g. a parent that is not a directory
  }
}

function parsePattern(configured: string): Pattern {
  const path = resolve(configured)
  const segments = path.split("/")
  const first = segments.findIndex((s) => MAGIC.test(s))
  const full = new Bun.Glob(path)
  if (first === -1) return { configured, path, base: segments.slice(0, -1).join("/") || "/", full, depth: 0 }
  const rest = segments.slice(first)
  return {
    configured,
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

/**
 * Creates the discovery for configured paths; relative ones resolve against the working directory. After each
 * scan `onMatches` hears how many regular files each configured path or glob matched.
 */
export function createDiscovery(
  paths: string[],
  onMatches?: (configured: string, count: number) => void,
): Discovery {
  const patterns = paths.map(parsePattern)
  const matches = (path: string) => patterns.some((p) => p.full.match(path))
  let watcher: FSWatcher | undefined

  return {
    scan() {
      const found = new Set<string>()
      for (const p of patterns) {
        if (!p.rest) {
          found.add(p.path)
          onMatches?.(p.configured, isRegular(p.path) ? 1 : 0)
          continue
        }
        let count = 0
        try {
          // onlyFiles: regular files only (no FIFOs, sockets, devices or symlinks)
          for (const file of p.rest.scanSync({ cwd: p.base, absolute: true, onlyFiles: true, dot: true })) {
            found.add(file)
            count++
          }
        } catch {
          // base directory missing or unreadable: nothing matches yet
        }
        onMatches?.(p.configured, count)
      }
      return found
    },
    watch(onEvent, onError, onReady) {
      // chokidar 4+ has no globs: watch each base directory and let through only files that match
      const depths = patterns.map((p) => p.depth)
      watcher = watch([...new Set(patterns.map((p) => p.base))], {
        ignoreInitial: true,
        depth: depths.includes(undefined) ? undefined : Math.max(...(depths as number[])),
        // only directories and matching regular files: a FIFO or socket in there is none of our business
        ignored: (path, stats) =>
          stats !== undefined && !stats.isDirectory() && !(stats.isFile() && matches(path)),
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
