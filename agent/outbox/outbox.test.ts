import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { Kind } from "../../shared/protocol/subjects.ts"
import { recordingLogger, spawnLogged, tempDir, waitFor } from "../../test/harness/index.ts"
import { openOutbox } from "./outbox.ts"
import { MAX_ENTRY_BYTES, type Outbox, type OutboxOptions } from "./types.ts"

const MiB = 1024 * 1024

/** An outbox in a fresh temp dir, reopenable on the same file; closed and removed on dispose. */
function scratch(options: Partial<OutboxOptions> = {}) {
  const dir = tempDir("outpost-outbox-")
  const path = join(dir.path, "state", "outbox.db")
  const opened: Outbox[] = []
  const open = (more: Partial<OutboxOptions> = {}) => {
    const outbox = openOutbox({
      path,
      maxBytes: 64 * MiB,
      maxEntries: 1_000_000,
      firstId: () => 1,
      ...options,
      ...more,
    })
    opened.push(outbox)
    return outbox
  }
  return {
    path,
    open,
    async [Symbol.asyncDispose]() {
      for (const outbox of opened) outbox.close()
      await dir[Symbol.asyncDispose]()
    },
  }
}

const numbered = (from: number, count: number, extra: Record<string, unknown> = {}) =>
  Array.from({ length: count }, (_, i) => ({ n: from + i, ...extra }))

/** Peeks everything of `kind` and removes it, as a successful publish would; returns the ids. */
function drain(outbox: Outbox, kind: Kind): number[] {
  const ids: number[] = []
  for (;;) {
    const { entries, dropped } = outbox.peek(kind, 1000, MiB)
    const last = entries.at(-1)
    if (!last) return ids
    ids.push(...entries.map((e) => e.id))
    outbox.remove(kind, last.id, dropped)
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe("outbox", () => {
  test("ids are contiguous per kind, replace an entry's own id, and continue after reopen without reuse", async () => {
    await using s = scratch()
    const a = s.open()
    expect(a.append("urls", numbered(0, 3))).toEqual({ firstId: 1, lastId: 3 })
    expect(a.append("heartbeats", [{ up: true }, { up: true, id: 77 }])).toEqual({ firstId: 1, lastId: 2 })
    expect(a.append("urls", numbered(3, 2))).toEqual({ firstId: 4, lastId: 5 })
    expect(a.peek("heartbeats", 10, MiB).entries).toEqual([
      { id: 1, up: true },
      { id: 2, up: true },
    ])
    expect(drain(a, "urls")).toEqual([1, 2, 3, 4, 5])
    a.close()
    const b = s.open()
    // everything of urls was removed, yet ids go on from the last one given
    expect(b.append("urls", numbered(5, 2))).toEqual({ firstId: 6, lastId: 7 })
    expect(b.append("heartbeats", [{ up: false }])).toEqual({ firstId: 3, lastId: 3 })
    expect(b.peek("urls", 10, MiB).entries).toEqual([
      { id: 6, n: 5 },
      { id: 7, n: 6 },
    ])
    expect(b.stats()).toMatchObject({ entries: 5, dropped: {} })
  })

  test("peek returns the oldest entries in id order within the entry and byte limits, always at least one", async () => {
    await using s = scratch()
    const outbox = s.open()
    outbox.append("urls", numbered(0, 10, { text: "é".repeat(10) }))
    const byCount = outbox.peek("urls", 4, MiB)
    expect(byCount.entries.map((e) => e.id)).toEqual([1, 2, 3, 4])
    // `bytes` is the entries' JSON as encodeEntriesBody writes it: UTF-8, ids included, commas between
    expect(byCount.bytes).toBe(Buffer.byteLength(JSON.stringify(byCount.entries)) - 2)
    const one = Buffer.byteLength(JSON.stringify(byCount.entries[0]))
    expect(outbox.peek("urls", 100, one * 3 + 2).entries).toHaveLength(3)
    expect(outbox.peek("urls", 100, one * 3 + 1).entries).toHaveLength(2)
    expect(outbox.peek("urls", 100, 1).entries.map((e) => e.id)).toEqual([1])
    expect(outbox.peek("urls", 0, 0).entries).toHaveLength(1)
    // peeking again without remove hands out the same entries
    expect(outbox.peek("urls", 4, MiB)).toEqual(byCount)
    expect(outbox.peek("heartbeats", 4, MiB)).toEqual({ entries: [], bytes: 0 })
  })

  test("remove deletes the kind's entries through the id, and only those", async () => {
    await using s = scratch()
    const outbox = s.open()
    outbox.append("urls", numbered(0, 10, { pad: "xxxx" }))
    outbox.append("heartbeats", numbered(0, 3))
    const before = outbox.stats()
    outbox.remove("urls", 6)
    expect(outbox.peek("urls", 100, MiB).entries.map((e) => e.id)).toEqual([7, 8, 9, 10])
    expect(outbox.pending("urls").entries).toBe(4)
    expect(outbox.pending("heartbeats").entries).toBe(3)
    const after = outbox.stats()
    expect(after.entries).toBe(7)
    expect(after.bytes).toBe(before.bytes - 6 * Buffer.byteLength(JSON.stringify({ n: 0, pad: "xxxx" })))
    outbox.remove("urls", 6) // again: nothing more goes
    expect(outbox.stats().entries).toBe(7)
  })

  test("a rejected append (an entry over MAX_ENTRY_BYTES) writes nothing and uses no ids", async () => {
    await using s = scratch()
    const outbox = s.open()
    outbox.append("urls", [{ n: 1 }])
    expect(() => outbox.append("urls", [{ n: 2 }, { big: "x".repeat(MAX_ENTRY_BYTES) }])).toThrow(
      /urls entry 1 of 2 is \d+ bytes of JSON/,
    )
    expect(outbox.stats().entries).toBe(1)
    expect(outbox.append("urls", [{ n: 3 }])).toEqual({ firstId: 2, lastId: 2 })
  })

  test("the bound drops the oldest entries and counts them exactly (max_entries, max_bytes)", async () => {
    await using s = scratch({ maxEntries: 100 })
    const logger = recordingLogger()
    const outbox = s.open({ logger })
    outbox.append("urls", numbered(0, 60))
    outbox.append("urls", numbered(60, 190)) // 250 in all, 150 over
    expect(outbox.stats()).toMatchObject({ entries: 100, dropped: { urls: 150 }, droppedSinceOpen: 150 })
    const peeked = outbox.peek("urls", 1000, MiB)
    expect(peeked.entries.map((e) => e.n)).toEqual(range(150, 249))
    expect(peeked.entries[0]?.id).toBe(151)
    expect(peeked.dropped).toEqual({ count: 150, before_id: 151 })
    expect(logger.at("warn")).toEqual([
      "outbox full (max_entries 100, max_bytes 67108864): dropped the 150 oldest urls entries (ids 1-150); the collector is told with the next envelope",
    ])

    // bytes: entries of 10 KiB of JSON, bound 1 MiB: 102 fit
    await using t = scratch({ maxBytes: MiB })
    const small = t.open()
    const pad = "y".repeat(10 * 1024 - Buffer.byteLength(JSON.stringify({ n: 100, pad: "" })))
    const entries = numbered(100, 150, { pad })
    expect(Buffer.byteLength(JSON.stringify(entries[0]))).toBe(10 * 1024)
    for (let i = 0; i < entries.length; i += 10) small.append("urls", entries.slice(i, i + 10))
    expect(small.stats()).toMatchObject({ entries: 102, bytes: 102 * 10 * 1024, dropped: { urls: 48 } })
    expect(small.peek("urls", 1, MiB).entries[0]?.id).toBe(49)
  })

  test("across kinds the bound drops the oldest created first", async () => {
    let clock = 1000
    await using s = scratch({ maxEntries: 100, now: () => clock })
    const outbox = s.open()
    outbox.append("urls", numbered(0, 40)) // at 1000
    clock = 2000
    outbox.append("heartbeats", numbered(0, 40)) // at 2000
    clock = 3000
    outbox.append("urls", numbered(40, 20)) // 100 in all
    expect(outbox.stats()).toMatchObject({ entries: 100, dropped: {}, oldestAt: 1000 })
    clock = 4000
    outbox.append("rows", numbered(0, 50)) // 50 over: the 40 urls of 1000, then 10 heartbeats of 2000
    expect(outbox.stats()).toMatchObject({
      entries: 100,
      dropped: { urls: 40, heartbeats: 10 },
      oldestAt: 2000,
    })
    expect(outbox.peek("urls", 1, MiB)).toMatchObject({
      entries: [{ id: 41 }],
      dropped: { count: 40, before_id: 41 },
    })
    expect(outbox.peek("heartbeats", 1, MiB)).toMatchObject({
      entries: [{ id: 11 }],
      dropped: { count: 10, before_id: 11 },
    })
    expect(outbox.peek("rows", 1, MiB).dropped).toBeUndefined()
  })

  test("drops are reported once: until an acknowledged publish removes them, across reopen, then never again", async () => {
    await using s = scratch({ maxEntries: 100 })
    const a = s.open()
    a.append("urls", numbered(0, 130))
    const first = a.peek("urls", 10, MiB)
    expect(first.dropped).toEqual({ count: 30, before_id: 31 })
    // a failed publish: peek without remove; the next peek reports the same drops with the same entries
    expect(a.peek("urls", 10, MiB)).toEqual(first)
    a.close()
    const b = s.open()
    expect(b.peek("urls", 10, MiB)).toEqual(first)
    b.remove("urls", 40, first.dropped)
    expect(b.stats().dropped).toEqual({})
    expect(b.peek("urls", 10, MiB).dropped).toBeUndefined()
    b.close()
    const c = s.open()
    const again = c.peek("urls", 10, MiB)
    expect(again.dropped).toBeUndefined()
    expect(again.entries[0]?.id).toBe(41)
    // later drops are a new report, counted from zero
    c.append("urls", numbered(130, 15)) // 90 + 15 = 105: 5 over
    expect(c.peek("urls", 10, MiB).dropped).toEqual({ count: 5, before_id: 46 })
  })

  test("entries dropped while their envelope was in flight are not reported: the envelope delivered them", async () => {
    await using s = scratch({ maxEntries: 100 })
    const outbox = s.open()
    outbox.append("urls", numbered(0, 250)) // 1-150 dropped
    const inFlight = outbox.peek("urls", 50, MiB) // 151-200, with the report of 150
    expect(inFlight.dropped).toEqual({ count: 150, before_id: 151 })
    outbox.append("urls", numbered(250, 80)) // drops 151-230: 50 in flight, 30 not
    expect(outbox.stats().dropped).toEqual({ urls: 230 })
    outbox.remove("urls", 200, inFlight.dropped)
    // what the collector is missing is exactly 201-230: the ids just below before_id
    const next = outbox.peek("urls", 1000, MiB)
    expect(next.dropped).toEqual({ count: 30, before_id: 231 })
    expect(next.entries.map((e) => e.id)).toEqual(range(231, 330))
  })

  test("a kind all of whose entries were dropped still ships its report, in an envelope without entries", async () => {
    let clock = 1
    await using s = scratch({ maxEntries: 100, now: () => clock })
    const outbox = s.open()
    outbox.append("heartbeats", numbered(0, 5))
    clock = 2
    outbox.append("urls", numbered(0, 100))
    expect(outbox.pending("heartbeats").entries).toBe(0)
    await outbox.waitForEntries("heartbeats", new AbortController().signal) // resolves: a report waits
    const report = outbox.peek("heartbeats", 10, MiB)
    expect(report).toEqual({ entries: [], bytes: 0, dropped: { count: 5, before_id: 6 } })
    outbox.remove("heartbeats", 5, report.dropped)
    expect(outbox.stats().dropped).toEqual({})
    expect(outbox.append("heartbeats", [{ up: true }]).firstId).toBe(6)
  })

  test("waitForEntries resolves at once when entries wait, else at the next append of that kind, or on abort", async () => {
    await using s = scratch()
    const outbox = s.open()
    const never = new AbortController().signal
    let woke = false
    const waiting = outbox.waitForEntries("urls", never).then(() => {
      woke = true
    })
    outbox.append("heartbeats", [{ up: true }])
    await Bun.sleep(0)
    expect(woke).toBe(false)
    outbox.append("urls", [{ n: 1 }])
    await waiting
    await outbox.waitForEntries("urls", never) // entries wait: at once
    const abort = new AbortController()
    const aborted = outbox.waitForEntries("rows", abort.signal)
    abort.abort()
    await aborted
  })

  test("survives kill -9 mid-append, three times over: every acknowledged id is there, ids go on after the highest", async () => {
    await using s = scratch()
    await using logs = tempDir("outpost-outbox-child-")
    let stored = 0
    for (let round = 1; round <= 3; round++) {
      const logPath = join(logs.path, `writer-${round}.log`)
      const child = spawnLogged(
        [process.execPath, join(import.meta.dir, "outbox-writer.test-child.ts"), s.path],
        logPath,
      )
      /** the last id the child printed: its append had committed */
      const acknowledged = () => {
        const text = readFileSync(logPath, "utf8")
        return Number(
          text
            .slice(0, text.lastIndexOf("\n") + 1)
            .split("\n")
            .at(-2) ?? 0,
        )
      }
      try {
        await waitFor(`writer ${round} to append 10,000 entries`, () => acknowledged() >= stored + 10_000)
      } finally {
        await child.kill9()
      }
      const last = acknowledged()
      const outbox = s.open()
      const entries = outbox.peek("urls", Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER).entries
      const ids = entries.map((e) => e.id)
      expect(entries.every((e) => e.pad === "x".repeat(100))).toBe(true)
      expect(ids.length).toBeGreaterThanOrEqual(last)
      expect(ids).toEqual(range(1, ids.length)) // nothing missing, nothing twice, in order
      // each child appended 20 numbered entries at a time: the entries are whole appends
      expect(ids.length % 20).toBe(0)
      outbox.close()
      stored = ids.length
    }
    const outbox = s.open()
    expect(outbox.append("urls", [{ n: -1 }]).firstId).toBe(stored + 1)
  })
})
