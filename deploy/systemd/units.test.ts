import { afterAll, describe, expect, test } from "bun:test"
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** The most `systemd-analyze security` may rate a unit (0 = fully locked down, 10 = unprotected). */
const MAX_EXPOSURE = 2.0

const units = [
  {
    file: "outpost-agent.service",
    binary: "/usr/local/bin/outpost-agent",
    config: "/etc/outpost/agent.toml",
  },
  {
    file: "outpost-collector.service",
    binary: "/opt/outpost-collector/outpost-collector",
    config: "/etc/outpost/collector.toml",
  },
]

/** `systemd-analyze`'s version (e.g. 252), or undefined where it is not installed. */
function analyzeVersion(): number | undefined {
  const bin = Bun.which("systemd-analyze")
  if (!bin) return undefined
  const out = Bun.spawnSync([bin, "--version"]).stdout.toString()
  return Number(/^systemd (\d+)/.exec(out)?.[1] ?? 0)
}

const version = analyzeVersion()
// --offline (analyzing a unit file that is not installed) exists since systemd 250.
const canAnalyze = version !== undefined && version >= 250
if (!canAnalyze) {
  console.warn(
    `deploy/systemd/units.test.ts: skipping systemd-analyze verify/security: ${
      version === undefined ? "systemd-analyze not found" : `systemd ${version} < 250`
    } (Debian: apt-get install systemd)`,
  )
}

const tmp = mkdtempSync(join(tmpdir(), "outpost-units-"))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** A copy of the unit whose binary path points at a stub executable, as `verify` needs it to exist. */
function stubbedCopy(file: string, binary: string): string {
  const stub = join(tmp, `${file}.bin`)
  writeFileSync(stub, "#!/bin/sh\nexit 0\n")
  chmodSync(stub, 0o755)
  const text = readFileSync(join(import.meta.dir, file), "utf8").replaceAll(binary, stub)
  const copy = join(tmp, file)
  writeFileSync(copy, text)
  return copy
}

function analyze(...args: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(["systemd-analyze", ...args], { env: { ...process.env, SYSTEMD_PAGER: "" } })
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() }
}

/** Every value of `key=` in the unit, in order (a key may repeat). */
function values(text: string, key: string): string[] {
  return [...text.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => (m[1] ?? "").trim())
}

describe.each(units)("deploy/systemd/$file", ({ file, binary, config }) => {
  const text = readFileSync(join(import.meta.dir, file), "utf8")

  test("ExecStartPre checks the config ExecStart runs with", () => {
    expect(values(text, "ExecStart")).toEqual([`${binary} run --config ${config}`])
    expect(values(text, "ExecStartPre")).toEqual([`${binary} check-config --config ${config}`])
  })

  test.each([
    ["SystemCallFilter", "@system-service"],
    ["SystemCallErrorNumber", "EPERM"],
    ["ProtectProc", "invisible"],
    ["ProcSubset", "pid"],
    ["RemoveIPC", "true"],
    ["NoNewPrivileges", "true"],
    ["ProtectSystem", "strict"],
    ["PrivateUsers", "true"],
    ["CapabilityBoundingSet", ""],
  ])("sets %s=%s", (key, value) => {
    expect(values(text, key)).toContain(value)
  })

  test("leaves MemoryDenyWriteExecute off (it would turn off Bun's JIT) and says why", () => {
    expect(values(text, "MemoryDenyWriteExecute")).toEqual([])
    expect(text).toMatch(/#\s+MemoryDenyWriteExecute=yes\s+Bun's JavaScript JIT/)
  })

  test("points Documentation= at the installed docs", () => {
    expect(values(text, "Documentation").join(" ")).toContain("file:/usr/share/doc/outpost/DEPLOY.md")
  })

  test.skipIf(!canAnalyze)("passes systemd-analyze verify", () => {
    const r = analyze("verify", "--man=no", stubbedCopy(file, binary))
    expect(r.err).toBe("")
    expect(r.code).toBe(0)
  })

  test.skipIf(!canAnalyze)(`is rated at most ${MAX_EXPOSURE} by systemd-analyze security`, () => {
    const r = analyze("security", "--offline=yes", "--no-pager", stubbedCopy(file, binary))
    expect(r.code).toBe(0)
    const level = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(r.out)?.[1]
    expect(level).toBeDefined()
    expect(Number(level)).toBeLessThanOrEqual(MAX_EXPOSURE)
  })
})

test("the collector keeps UV_THREADPOOL_SIZE=4 and lets setpriv (nats-server's launcher) call capset", () => {
  const text = readFileSync(join(import.meta.dir, "outpost-collector.service"), "utf8")
  expect(values(text, "Environment")).toContain("UV_THREADPOOL_SIZE=4")
  expect(values(text, "SystemCallFilter")).toEqual(["@system-service", "~@privileged @resources", "capset"])
})

test("the agent joins group adm, which can read most of /var/log on Debian", () => {
  const text = readFileSync(join(import.meta.dir, "outpost-agent.service"), "utf8")
  expect(values(text, "SupplementaryGroups")).toEqual(["adm"])
})
