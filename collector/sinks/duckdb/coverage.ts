/** Half-open byte range [start, end) of a file generation that is stored. */
export type Range = { start: number; end: number }

/** Parts of [start, end) not inside `covered` (sorted, merged). */
export function uncovered(covered: readonly Range[], start: number, end: number): Range[] {
  const out: Range[] = []
  let at = start
  for (const r of covered) {
    if (r.end <= at) continue
    if (r.start >= end) break
    if (r.start > at) out.push({ start: at, end: r.start })
    at = Math.max(at, r.end)
    if (at >= end) break
  }
  if (at < end) out.push({ start: at, end })
  return out
}

/** Adds [start, end) to sorted, merged ranges; returns a new array (the input is not changed). */
export function addRange(covered: readonly Range[], start: number, end: number): Range[] {
  if (end <= start) return [...covered]
  const out: Range[] = []
  let merged: Range = { start, end }
  let placed = false
  for (const r of covered) {
    if (r.end < merged.start) out.push(r)
    else if (r.start > merged.end) {
      if (!placed) {
        out.push(merged)
        placed = true
      }
      out.push(r)
    } else merged = { start: Math.min(r.start, merged.start), end: Math.max(r.end, merged.end) }
  }
  if (!placed) out.push(merged)
  return out
}
