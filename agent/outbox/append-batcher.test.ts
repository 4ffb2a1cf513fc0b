import { expect, test } from "bun:test"
import { waitFor } from "../../test/harness/index.ts"
import { createAppendBatcher } from "./append-batcher.ts"

test("entries added within the wait are written together; a full batch goes at once; flush writes the rest", async () => {
  const writes: number[][] = []
  const b = createAppendBatcher<number>({ write: (e) => writes.push(e), maxWaitMs: 30, maxEntries: 4 })
  b.add([1])
  b.add([2])
  expect(writes).toEqual([])
  await waitFor("the timed write", () => writes.length === 1)
  expect(writes).toEqual([[1, 2]])
  b.add([3, 4, 5, 6])
  expect(writes).toEqual([
    [1, 2],
    [3, 4, 5, 6],
  ]) // full: no wait
  b.add([7])
  expect(b.pending).toBe(1)
  b.flush()
  expect(writes).toEqual([[1, 2], [3, 4, 5, 6], [7]])
  b.flush()
  expect(writes).toHaveLength(3) // nothing pending, nothing written
})
