/**
 * Mutation check: applies each mutation of scripts/mutation/*-mutations.ts alone, runs the tests that should catch
 * it, and reports which survived. Works on a copy of the working tree (node_modules linked), so an interrupted run
 * never leaves a mutated file behind. Not part of CI (it takes a while); run it when the listed modules change.
 *
 *   bun run test:mutation                  every mutation
 *   bun run test:mutation --only tailer.   mutations whose id starts with "tailer."
 *   bun run test:mutation --list           the list, nothing run
 */
import { spawn, spawnSync } from "node:child_process"
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { parseArgs } from "node:util"
import { MUTATIONS, type Mutation } from "./mutations.ts"

const HELP = `Usage: bun run test:mutation [options]

Applies each listed mutation of the critical modules alone, runs its related tests, restores the file, and prints
the kill rate and the survivors. Exits 1 when a critical mutation (ack, commit, signature, dedup) survives or
fewer than 90% are caught.

Options:
  --only <ids>        comma-separated ids or id prefixes (e.g. "transport.,batch.ack-before-commit")
  --e2e               also run the end-to-end tests (test/e2e) for every mutation
  --timeout-s <n>     a mutation whose tests run longer is counted as caught (it hung); default 300
  --no-baseline       skip running the unmutated tests first
  --keep              keep the working copy and the logs
  --list              print the mutations and exit
  -h, --help          this text
`

const root = join(import.meta.dir, "../..")
const TARGET_RATE = 0.9

type Outcome = { mutation: Mutation; caught: boolean; seconds: number; detail: string }

function options() {
  const { values } = parseArgs({
    strict: true,
    options: {
      only: { type: "string" },
      e2e: { type: "boolean", default: false },
      "timeout-s": { type: "string", default: "300" },
      "no-baseline": { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      list: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  })
  const timeoutS = Number(values["timeout-s"])
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new Error("--timeout-s must be a positive number")
  const only = values.only?.split(",").filter(Boolean)
  return { ...values, timeoutS, only }
}

/** Copies the tracked and untracked (not ignored) files of the working tree, so new tests are included. */
function copyTree(): string {
  const dir = mkdtempSync(join(tmpdir(), "outpost-mutation-"))
  const listed = spawnSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], {
    cwd: root,
    encoding: "utf8",
  })
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`)
  for (const file of listed.stdout.split("\0").filter(Boolean)) {
    if (file === "node_modules" || !existsSync(join(root, file))) continue // linked below; or deleted
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    cpSync(join(root, file), join(dir, file))
  }
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"))
  return dir
}

/** The source after the mutation's edits; throws when a `find` no longer occurs exactly once (the list is stale). */
function mutated(source: string, m: Mutation): string {
  let out = source
  for (const edit of m.edits) {
    const at = out.indexOf(edit.find)
    if (at < 0 || out.indexOf(edit.find, at + 1) >= 0) {
      const n = at < 0 ? 0 : 2
      throw new Error(
        `${m.id}: ${JSON.stringify(edit.find)} occurs ${n === 0 ? "nowhere" : "more than once"} in ${m.file}`,
      )
    }
    out = out.slice(0, at) + edit.replace + out.slice(at + edit.find.length)
  }
  return out
}

/** Runs `bun test` on `files`; resolves with the exit status (null: killed after the timeout) and the output. */
function runTests(dir: string, files: string[], timeoutS: number, logPath: string) {
  return new Promise<{ status: number | null; output: string; seconds: number }>((resolve) => {
    const started = performance.now()
    const child = spawn("bun", ["test", "--timeout", "60000", "--bail", ...files], {
      cwd: dir,
      env: { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}:/usr/sbin` },
      detached: true,
    })
    let output = ""
    child.stdout.on("data", (d) => (output += d))
    child.stderr.on("data", (d) => (output += d))
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), "SIGKILL")
      } catch {}
    }, timeoutS * 1000)
    child.on("close", (code) => {
      clearTimeout(timer)
      writeFileSync(logPath, output)
      resolve({ status: code, output, seconds: (performance.now() - started) / 1000 })
    })
  })
}

const firstFailure = (output: string) => output.match(/^\(fail\) (.+)$/m)?.[1]?.slice(0, 140) ?? ""

async function main() {
  const opts = options()
  if (opts.help) return void process.stdout.write(HELP)
  const selected = MUTATIONS.filter(
    (m) => !opts.only || opts.only.some((p) => m.id === p || m.id.startsWith(p)),
  )
  if (opts.list) {
    for (const m of selected) mutated(readFileSync(join(root, m.file), "utf8"), m)
    for (const m of selected) console.log(`${m.critical ? "*" : " "} ${m.id.padEnd(44)} ${m.bug}`)
    console.log(`${selected.length} mutations (* critical)`)
    return
  }
  if (selected.length === 0) throw new Error(`no mutation matches --only ${opts.only?.join(",")}`)
  const dir = copyTree()
  const logs = join(dir, ".mutation-logs")
  mkdirSync(logs)
  console.log(`working copy ${dir}`)
  const testsOf = (m: Mutation) => {
    const wanted = opts.e2e ? [...m.tests, "test/e2e"] : m.tests
    return [...new Set(wanted)].filter((t) => existsSync(join(dir, t)))
  }
  // Sources are checked before anything runs: a stale entry is a broken list, not a caught mutation.
  for (const m of selected) mutated(readFileSync(join(dir, m.file), "utf8"), m)
  if (!opts["no-baseline"]) {
    const all = [...new Set(selected.flatMap(testsOf))]
    console.log(`baseline: ${all.length} test files, unmutated`)
    const base = await runTests(dir, all, opts.timeoutS * 2, join(logs, "baseline.log"))
    if (base.status !== 0) {
      throw new Error(
        `the unmutated tests fail (${firstFailure(base.output)}); see ${join(logs, "baseline.log")}`,
      )
    }
    console.log(`baseline green in ${base.seconds.toFixed(0)} s`)
  }
  const outcomes: Outcome[] = []
  for (const [i, m] of selected.entries()) {
    const path = join(dir, m.file)
    const original = readFileSync(path, "utf8")
    writeFileSync(path, mutated(original, m))
    let run: Awaited<ReturnType<typeof runTests>>
    try {
      run = await runTests(dir, testsOf(m), opts.timeoutS, join(logs, `${m.id}.log`))
    } finally {
      writeFileSync(path, original)
    }
    const caught = run.status !== 0
    const detail = run.status === null ? "timed out" : caught ? firstFailure(run.output) : ""
    outcomes.push({ mutation: m, caught, seconds: run.seconds, detail })
    const tag = caught ? "caught  " : "SURVIVED"
    console.log(`[${i + 1}/${selected.length}] ${tag} ${m.id} (${run.seconds.toFixed(0)} s) ${detail}`)
  }
  const caught = outcomes.filter((o) => o.caught).length
  const survivors = outcomes.filter((o) => !o.caught)
  const criticalSurvivors = survivors.filter((o) => o.mutation.critical)
  const rate = caught / outcomes.length
  console.log(
    `\nkill rate: ${caught}/${outcomes.length} = ${(rate * 100).toFixed(1)}% (target ${TARGET_RATE * 100}%)`,
  )
  console.log(
    `critical: ${outcomes.filter((o) => o.mutation.critical && o.caught).length}/${outcomes.filter((o) => o.mutation.critical).length} caught`,
  )
  for (const o of survivors)
    console.log(`  survived${o.mutation.critical ? " (critical)" : ""}: ${o.mutation.id}: ${o.mutation.bug}`)
  if (opts.keep) console.log(`logs in ${logs}`)
  else rmSync(dir, { recursive: true, force: true })
  if (criticalSurvivors.length > 0 || rate < TARGET_RATE) process.exitCode = 1
}

main().catch((error) => {
  console.error(`error: ${(error as Error).message}`)
  process.exit(2)
})
