/** Number formatting and the figures block every bench prints. */
import { MiB } from "./constants.ts"
import type { ProcFigures } from "./proc.ts"

export const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US")
export const fmtMiB = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`
export const fmtSec = (s: number) => `${s.toFixed(2)} s`
export const round = (n: number, digits = 2) => Number(n.toFixed(digits))

export type Row = [label: string, value: string, target?: string]

/** A titled block of aligned figures, with the target beside a figure when there is one. */
export function printBlock(title: string, rows: Row[]): void {
  console.log(`\n== ${title} ==`)
  const width = Math.max(...rows.map(([l]) => l.length))
  const valueWidth = Math.max(...rows.map(([, v, t]) => (t ? v.length : 0)))
  for (const [label, value, target] of rows) {
    console.log(`  ${label.padEnd(width)}  ${target ? `${value.padEnd(valueWidth)}   ${target}` : value}`)
  }
}

/** "target >= 100 MiB/s: MET" style note. */
export function targetNote(ok: boolean, text: string): string {
  return `target ${text}: ${ok ? "MET" : "MISSED"}`
}

export function procRows(name: string, f: ProcFigures, seconds: number): Row[] {
  return [
    [
      `${name} CPU`,
      `${f.cpuSeconds.toFixed(2)} s (${((f.cpuSeconds / seconds) * 100).toFixed(0)}% of one core)`,
    ],
    [
      `${name} peak RSS`,
      `${fmtMiB(f.peakRssBytes)} (VmHWM ${fmtMiB(f.hwmBytes)}, sampled ${fmtMiB(f.sampledPeakRssBytes)})`,
    ],
  ]
}

export function procJson(f: ProcFigures) {
  return {
    cpu_s: round(f.cpuSeconds),
    peak_rss_mib: round(f.peakRssBytes / MiB, 1),
    hwm_mib: round(f.hwmBytes / MiB, 1),
  }
}

/** Exact quantile (nearest rank) of a sorted array. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
}
