import { describe, expect, test } from "bun:test"
import { createBacklogLog, formatBytes, formatDuration } from "./backlog.ts"

const MiB = 1024 * 1024

function backlog() {
  let t = 1_000_000
  const said: string[] = []
  const log = createBacklogLog({
    say: (m) => said.push(m),
    now: () => t,
    thresholdBytes: 8 * MiB,
    everyMs: 10_000,
  })
  return {
    log,
    said,
    advance: (ms: number) => {
      t += ms
    },
  }
}

describe("backlog log", () => {
  test("a file less than the threshold behind says nothing", () => {
    const { log, said } = backlog()
    log.update("g", "/a.log", 0, 8 * MiB)
    log.update("g", "/a.log", 4 * MiB, 8 * MiB)
    expect(said).toEqual([])
  })

  test("says when it starts, every 10 s with share done, rate and ETA, and once when caught up", () => {
    const { log, said, advance } = backlog()
    log.update("g", "/a.log", 0, 100 * MiB)
    expect(said).toEqual(["catching up on /a.log: 100.0 MiB to read"])
    advance(5_000)
    log.update("g", "/a.log", 10 * MiB, 100 * MiB) // not yet 10 s: quiet
    expect(said).toHaveLength(1)
    advance(5_000)
    log.update("g", "/a.log", 20 * MiB, 100 * MiB) // 20 MiB in 10 s
    expect(said[1]).toBe("catching up on /a.log: 20% done, 80.0 MiB to read, 2.0 MiB/s, about 40 s left")
    advance(10_000)
    log.update("g", "/a.log", 60 * MiB, 100 * MiB) // 40 MiB in 10 s: the ETA follows the recent rate
    expect(said[2]).toBe("catching up on /a.log: 60% done, 40.0 MiB to read, 4.0 MiB/s, about 10 s left")
    advance(2_000)
    log.update("g", "/a.log", 99.5 * MiB, 100 * MiB) // under 1 MiB left: caught up
    expect(said[3]).toBe("caught up on /a.log: read 99.5 MiB in 22 s")
    advance(20_000)
    log.update("g", "/a.log", 100 * MiB, 100 * MiB)
    expect(said).toHaveLength(4)
  })

  test("no progress (publishing blocked) is said as such, without an ETA", () => {
    const { log, said, advance } = backlog()
    log.update("g", "/a.log", 0, 50 * MiB)
    advance(30_000)
    log.update("g", "/a.log", 0, 50 * MiB)
    expect(said[1]).toBe(
      "catching up on /a.log: 0% done, 50.0 MiB to read, no progress in the last 30 s (waiting to publish)",
    )
  })

  test("a forgotten generation (read to its end, truncated) says nothing more", () => {
    const { log, said, advance } = backlog()
    log.update("g", "/a.log", 0, 50 * MiB)
    log.forget("g")
    advance(30_000)
    log.update("g", "/a.log", 49.9 * MiB, 50 * MiB)
    expect(said).toHaveLength(1)
  })

  test.each([
    [512, "512 B"],
    [3.5 * 1024, "3.5 KiB"],
    [12 * MiB, "12.0 MiB"],
    [1.5 * 1024 * MiB, "1.5 GiB"],
  ])("formatBytes(%p) = %p", (n, text) => expect(formatBytes(n)).toBe(text))

  test.each([
    [800, "800 ms"],
    [12_400, "12 s"],
    [4 * 60_000, "4 min"],
    [3.5 * 3_600_000, "3.5 h"],
  ])("formatDuration(%p) = %p", (ms, text) => expect(formatDuration(ms)).toBe(text))
})
