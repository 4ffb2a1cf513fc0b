#!/usr/bin/env bun
/**
 * `bun run build`: compiles the release artifacts for the current platform.
 *
 *   dist/outpost-agent                        one self-contained executable (no DuckDB inside)
 *   dist/outpost-collector/outpost-collector  the collector executable
 *   dist/outpost-collector/libduckdb.so       DuckDB, which must stay beside it
 *
 * The DuckDB bindings `require` every platform's package by name, so the packages that are not
 * installed here are marked external. Their `duckdb.node` links `libduckdb.so` through `$ORIGIN`,
 * but a compiled executable extracts `duckdb.node` to a temporary directory, where `$ORIGIN` finds
 * nothing. The collector's entry therefore loads `libduckdb.so` from the executable's own directory
 * first; the dynamic linker then satisfies `duckdb.node`'s dependency with the library already
 * loaded (matched by its soname). `LD_LIBRARY_PATH` pointing at the folder works as well.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { familySync, MUSL } from "detect-libc"
import { VERSION } from "../shared/version.ts"

const root = join(import.meta.dir, "..")
// --out-dir <dir>: somewhere else than dist/ (tests build into a temp folder)
const outArg = process.argv.indexOf("--out-dir")
const dist =
  outArg > 0 && process.argv[outArg + 1] ? resolve(process.argv[outArg + 1] as string) : join(root, "dist")
const agentOut = join(dist, "outpost-agent")
const collectorDir = join(dist, "outpost-collector")
const collectorOut = join(collectorDir, "outpost-collector")
const buildDir = join(dist, ".build")

// A daemon must not pick up a .env or bunfig.toml from whatever directory it is started in.
const compileDefaults = { autoloadDotenv: false, autoloadBunfig: false } as const

function fail(message: string): never {
  console.error(`build: ${message}`)
  process.exit(1)
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`
}

/** The installed `@duckdb/node-bindings-<platform>` package for this machine, and the ones to leave external. */
function duckdbBindings(): { nativeDir: string; externals: string[] } {
  const bindingsPkg = Bun.resolveSync("@duckdb/node-bindings/package.json", root)
  const { optionalDependencies } = JSON.parse(readFileSync(bindingsPkg, "utf8")) as {
    optionalDependencies: Record<string, string>
  }
  const musl = process.platform === "linux" && familySync() === MUSL
  const wanted = `@duckdb/node-bindings-${process.platform}-${process.arch}${musl ? "-musl" : ""}`
  let nativeDir: string | undefined
  const externals: string[] = []
  for (const name of Object.keys(optionalDependencies)) {
    let resolved: string | undefined
    try {
      resolved = Bun.resolveSync(`${name}/package.json`, dirname(bindingsPkg))
    } catch {
      resolved = undefined
    }
    if (name === wanted && resolved) nativeDir = dirname(resolved)
    else externals.push(`${name}/duckdb.node`)
  }
  if (!nativeDir) fail(`${wanted} is not installed; run 'npm ci' on this platform`)
  return { nativeDir, externals }
}

async function compile(
  label: string,
  entry: string,
  outfile: string,
  externals: string[] = [],
): Promise<Set<string>> {
  const result = await Bun.build({
    entrypoints: [entry],
    compile: { ...compileDefaults, outfile },
    minify: true,
    external: externals,
    metafile: true,
    throw: false,
  })
  if (!result.success) {
    for (const log of result.logs) console.error(log)
    fail(`${label}: compilation failed`)
  }
  return new Set(Object.keys(result.metafile?.inputs ?? {}))
}

/** Runs `<exe> --version` from a neutral directory and checks it prints the package version. */
function smokeTest(exe: string): void {
  const proc = Bun.spawnSync([exe, "--version"], { cwd: dist, env: { PATH: process.env.PATH ?? "" } })
  const out = proc.stdout.toString().trim()
  if (proc.exitCode !== 0 || out !== VERSION) {
    fail(`${relative(root, exe)} --version failed (exit ${proc.exitCode}): ${out} ${proc.stderr.toString()}`)
  }
}

mkdirSync(dist, { recursive: true })
rmSync(agentOut, { force: true })
rmSync(collectorDir, { recursive: true, force: true })
rmSync(buildDir, { recursive: true, force: true })

// Agent: a true single file; it must not pull in DuckDB.
const agentInputs = await compile("outpost-agent", join(root, "agent/cli/main.ts"), agentOut)
const duckInAgent = [...agentInputs].filter((p) => p.includes("@duckdb"))
if (duckInAgent.length > 0) fail(`the agent must not contain DuckDB, but bundles ${duckInAgent.join(", ")}`)
smokeTest(agentOut)

// Collector: executable + libduckdb beside it.
const { nativeDir, externals } = duckdbBindings()
const libs = readdirSync(nativeDir).filter((f) => /^libduckdb\.(so|dylib)$|^duckdb\.dll$/.test(f))
if (libs.length === 0) fail(`no DuckDB library found in ${nativeDir}`)
mkdirSync(buildDir, { recursive: true })
const collectorEntry = join(buildDir, "collector-entry.ts")
await Bun.write(
  collectorEntry,
  `import "./preload-duckdb.ts"\nimport ${JSON.stringify(relative(buildDir, join(root, "collector/cli/main.ts")))}\n`,
)
await Bun.write(
  join(buildDir, "preload-duckdb.ts"),
  `import { existsSync } from "node:fs"
import { dlopen } from "bun:ffi"
import { dirname, join } from "node:path"
// Load DuckDB from beside the executable before the bindings' duckdb.node asks for it by soname.
for (const name of ${JSON.stringify(libs)}) {
  const path = join(dirname(process.execPath), name)
  if (!existsSync(path)) {
    // Said when DuckDB is first needed (as the one-line error duckdb_missing), not on --help or check-config.
    ;(globalThis as Record<string, unknown>).__outpostDuckdbMissing = path
    continue
  }
  try {
    ;(globalThis as Record<string, unknown>).__outpostDuckdb = dlopen(path, {
      duckdb_library_version: { args: [], returns: "cstring" },
    })
  } catch (error) {
    console.error(\`outpost-collector: cannot load \${path}: \${(error as Error).message}\`)
  }
}
`,
)
mkdirSync(collectorDir, { recursive: true })
await compile("outpost-collector", collectorEntry, collectorOut, externals)
for (const lib of libs) copyFileSync(join(nativeDir, lib), join(collectorDir, lib))
rmSync(buildDir, { recursive: true, force: true })
smokeTest(collectorOut)

console.log(`built Outpost ${VERSION} for ${process.platform}-${process.arch}:`)
console.log(`  ${relative(root, agentOut).padEnd(42)} ${mib(statSync(agentOut).size)}`)
let collectorTotal = 0
for (const file of readdirSync(collectorDir).sort()) {
  const size = statSync(join(collectorDir, file)).size
  collectorTotal += size
  console.log(`  ${relative(root, join(collectorDir, file)).padEnd(42)} ${mib(size)}`)
}
console.log(`  ${`${relative(root, collectorDir)}/ (total)`.padEnd(42)} ${mib(collectorTotal)}`)
