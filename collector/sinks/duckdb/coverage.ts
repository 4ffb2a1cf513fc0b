/** Half-open byte range [start, end) of a file generation that is stored. */
export type Range = { start: number; end: number }

/**
 * Range-list elements visited by `uncovered`, `firstEndingAfter` and `mergeRanges` since the process started.
 * Hostile input must not make this grow faster than n log n; tests and benchmarks read it to prove that.
 */
export const rangeSteps = { count: 0 }

/** Index of the first range in sorted, merged `covered` whose end is after `at` (binary search). */
export function firstEndingAfter(covered: readonly Range[], at: number): number {
  let lo = 0
  let hi = covered.length
  while (lo < hi) {
    rangeSteps.count++
    const mid = (lo + hi) >>> 1
    if ((covered[mid] as Range).end <= at) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Parts of [start, end) not inside `covered` (sorted, merged); O(log n + ranges overlapping it). */
export function uncovered(covered: readonly Range[], start: number, end: number): Range[] {
  const out: Range[] = []
  let at = start
  for (let i = firstEndingAfter(covered, start); i < covered.length && at < end; i++) {
    rangeSteps.count++
    const r = covered[i] as Range
    if (r.start >= end) break
    if (r.start > at) out.push({ start: at, end: r.start })
    at = Math.max(at, r.end)
  }
  if (at < end) out.push({ start: at, end })
  return out
}

/**
 * Merges `additions` (any order, empty ones ignored) into sorted, merged `covered`; returns a new array and changes
 * neither input. One sort of the additions and one pass over both lists: O(n + m log m).
 */
export function mergeRanges(covered: readonly Range[], additions: readonly Range[]): Range[] {
  const adds = additions.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start)
  rangeSteps.count += adds.length
  if (adds.length === 0) return [...covered]
  const out: Range[] = []
  let i = 0
  let j = 0
  let open: Range | undefined
  while (i < covered.length || j < adds.length) {
    rangeSteps.count++
    const c = covered[i]
    const a = adds[j]
    let next: Range
    if (a === undefined || (c !== undefined && c.start <= a.start)) {
      next = c as Range
      i++
    } else {
      next = a
      j++
    }
    // Touching ranges merge too ([0, 10) + [10, 20) = [0, 20)): fewer rows in log_coverage.
    if (open && next.start <= open.end) {
      if (next.end > open.end) open = { start: open.start, end: next.end }
    } else {
      if (open) out.push(open)
      open = next
    }
  }
  if (open) out.push(open)
  return out
}

/** Adds [start, end) to sorted, merged ranges; returns a new array (the input is not changed). */
export function addRange(covered: readonly Range[], start: number, end: number): Range[] {
  return mergeRanges(covered, [{ start, end }])
}
