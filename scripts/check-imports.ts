#!/usr/bin/env bun
/**
 * `bun scripts/check-imports.ts [root]`: checks package.json against what the code imports.
 *
 *   - every package any *.ts file imports (also `import type`, `export ... from`, `import()`, `require()`)
 *     is declared in package.json;
 *   - the code the binaries run (everything reachable from their entry points, following relative value
 *     imports) imports only `dependencies`, and every one of `dependencies` is imported by it, so that
 *     test- and build-only packages (tweetnacl, detect-libc) stay in `devDependencies`.
 *
 * Relative imports, `node:` and `bun:` modules, `bun` and bare Node builtins (`fs`) are not packages.
 * Prints one line per problem and exits 1 when there are any.
 */
import { readdirSync, readFileSync } from "node:fs"
import { builtinModules } from "node:module"
import { dirname, join, relative, resolve } from "node:path"

/** What the compiled binaries run (scripts/build.ts compiles these). */
export const ENTRY_POINTS = ["agent/cli/main.ts", "collector/cli/main.ts"]

const SKIP_DIRS = new Set(["node_modules", "dist"])
const SOURCE = /\.(?:ts|tsx|mts|cts)$/
const BUILTINS = new Set(builtinModules)

/** One import of a package by a file; `types` when it is only a type import. */
export type PackageImport = { file: string; pkg: string; types: boolean }

/** The package an import specifier names, or undefined for relative paths and builtins. */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("#")) return undefined
  if (/^(?:node|bun):/.test(specifier) || specifier === "bun") return undefined
  const parts = specifier.split("/")
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string)
  if (BUILTINS.has(name)) return undefined
  return name
}

const transpilers = { ts: new Bun.Transpiler({ loader: "ts" }), tsx: new Bun.Transpiler({ loader: "tsx" }) }
// `import type ... from "x"`, `export type ... from "x"`, `import { type A } from "x"`: erased by the
// transpiler, so found in the text. Only at the start of a line, so that code inside strings rarely counts.
const TYPE_IMPORT = /^[ \t]*(?:import|export)\s+(type\s+)?([^;'"`]*?)\s*\bfrom\s*["']([^"']+)["']/gm

/** Specifiers a file imports: `value` ones survive transpiling; `types` ones are type-only. */
export function importsOf(source: string, loader: "ts" | "tsx" = "ts"): { value: string[]; types: string[] } {
  const code = source.replace(/^#!.*/, "") // scanImports does not accept a hashbang line
  const value = [...new Set(transpilers[loader].scanImports(code).map((i) => i.path))]
  const types = new Set<string>()
  for (const m of code.matchAll(TYPE_IMPORT)) {
    const spec = m[3] as string
    if (!value.includes(spec) && (m[1] || /\btype\b/.test(m[2] ?? ""))) types.add(spec)
  }
  return { value, types: [...types] }
}

type FileImports = { value: string[]; types: string[]; error?: string }

/** The imports of one file; a file that does not parse has none and an `error`. */
function importsOfFile(abs: string): FileImports {
  try {
    return importsOf(readFileSync(abs, "utf8"), abs.endsWith(".tsx") ? "tsx" : "ts")
  } catch (error) {
    return { value: [], types: [], error: error instanceof Error ? error.message : String(error) }
  }
}

/** Every source file under root, relative to it, skipping node_modules, dist and dot-directories. */
export function sourceFiles(root: string, dir = ""): string[] {
  const out: string[] = []
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = dir ? `${dir}/${entry.name}` : entry.name
    if (entry.isDirectory()) {
      if (!entry.name.startsWith(".") && !SKIP_DIRS.has(entry.name)) out.push(...sourceFiles(root, path))
    } else if (entry.isFile() && SOURCE.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(path)
  }
  return out.sort()
}

/** The files reachable from the entry points through relative value imports (root-relative paths). */
export function runtimeFiles(root: string, entries: string[]): Set<string> {
  const seen = new Set<string>()
  const queue = [...entries]
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue
    seen.add(file)
    const abs = join(root, file)
    for (const spec of importsOfFile(abs).value) {
      if (!spec.startsWith(".")) continue
      let target: string
      try {
        target = Bun.resolveSync(spec, dirname(abs))
      } catch {
        target = resolve(dirname(abs), spec) // missing: reported by tsc, not here
      }
      if (SOURCE.test(target)) queue.push(relative(root, target))
    }
  }
  return seen
}

type Manifest = {
  name?: string
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
}

/** Every problem found under root (a directory with package.json), as printable lines. */
export function checkImports(root: string, entries: string[] = ENTRY_POINTS): string[] {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Manifest
  const runtimeDeps = new Set(Object.keys(manifest.dependencies ?? {}))
  const declared = new Set([
    ...runtimeDeps,
    ...Object.keys(manifest.devDependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ])
  const all = sourceFiles(root)
  const problems = entries.filter((e) => !all.includes(e)).map((e) => `entry point ${e} not found`)
  const runtime = runtimeFiles(
    root,
    entries.filter((e) => all.includes(e)),
  )

  const undeclared = new Map<string, string[]>()
  const devAtRuntime = new Map<string, string[]>()
  const usedAtRuntime = new Set<string>()
  for (const file of all) {
    const { value, types, error } = importsOfFile(join(root, file))
    if (error) problems.push(`${file}: cannot read its imports: ${error}`)
    for (const [spec, typeOnly] of [
      ...value.map((s) => [s, false] as const),
      ...types.map((s) => [s, true] as const),
    ]) {
      const pkg = packageName(spec)
      if (!pkg || pkg === manifest.name) continue
      if (!declared.has(pkg)) undeclared.set(pkg, [...(undeclared.get(pkg) ?? []), file])
      else if (runtime.has(file) && !typeOnly) {
        usedAtRuntime.add(pkg)
        if (!runtimeDeps.has(pkg)) devAtRuntime.set(pkg, [...(devAtRuntime.get(pkg) ?? []), file])
      }
    }
  }

  const files = (list: string[]) => [...new Set(list)].join(", ")
  const byName = (a: [string, string[]], b: [string, string[]]) => a[0].localeCompare(b[0])
  for (const [pkg, list] of [...undeclared].sort(byName)) {
    problems.push(`'${pkg}' is imported but not declared in package.json (${files(list)})`)
  }
  for (const [pkg, list] of [...devAtRuntime].sort(byName)) {
    problems.push(
      `'${pkg}' is a devDependency but the binaries import it: move it to dependencies (${files(list)})`,
    )
  }
  for (const pkg of [...runtimeDeps].sort()) {
    if (usedAtRuntime.has(pkg)) continue
    problems.push(`'${pkg}' is in dependencies but the binaries never import it: move it to devDependencies`)
  }
  return problems
}

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? join(import.meta.dir, ".."))
  const problems = checkImports(root)
  for (const p of problems) console.error(`check-imports: ${p}`)
  if (problems.length > 0) process.exit(1)
  console.log(`check-imports: ok (${sourceFiles(root).length} files, package.json matches the imports)`)
}
