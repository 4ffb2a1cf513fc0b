import { expect, test } from "bun:test"
import { MinHeap } from "./min-heap.ts"

test("pops in key order whatever the push order, duplicates included", () => {
  const heap = new MinHeap<number>((n) => n)
  const values = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 257)
  for (const v of values) heap.push(v)
  expect(heap.size).toBe(1000)
  const out: number[] = []
  while (heap.size > 0) out.push(heap.pop() as number)
  expect(out).toEqual([...values].sort((a, b) => a - b))
  expect(heap.pop()).toBeUndefined()
})

test("interleaved pushes and pops keep the smallest on top", () => {
  const heap = new MinHeap<{ at: number }>((x) => x.at)
  heap.push({ at: 5 })
  heap.push({ at: 1 })
  expect(heap.pop()?.at).toBe(1)
  heap.push({ at: 3 })
  heap.push({ at: 9 })
  expect(heap.peek()?.at).toBe(3)
  expect([heap.pop()?.at, heap.pop()?.at, heap.pop()?.at, heap.size]).toEqual([3, 5, 9, 0])
})
