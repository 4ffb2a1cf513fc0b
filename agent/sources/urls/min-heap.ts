/** A binary min-heap by a numeric key: the scheduler's next due job in O(log n), not a scan of every job. */
export class MinHeap<T> {
  private readonly items: T[] = []

  constructor(private readonly key: (item: T) => number) {}

  get size(): number {
    return this.items.length
  }

  peek(): T | undefined {
    return this.items[0]
  }

  push(item: T): void {
    const a = this.items
    a.push(item)
    let i = a.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.key(a[parent] as T) <= this.key(item)) break
      a[i] = a[parent] as T
      i = parent
    }
    a[i] = item
  }

  pop(): T | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (a.length === 0 || last === undefined) return top
    let i = 0
    const k = this.key(last)
    for (;;) {
      const l = 2 * i + 1
      if (l >= a.length) break
      const r = l + 1
      const child = r < a.length && this.key(a[r] as T) < this.key(a[l] as T) ? r : l
      if (this.key(a[child] as T) >= k) break
      a[i] = a[child] as T
      i = child
    }
    a[i] = last
    return top
  }
}
