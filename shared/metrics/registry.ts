/** A minimal Prometheus registry: counters, gauges and histograms with labels, rendered in the text format. */
type Series = Map<string, number>
type Histogram = {
  buckets: readonly number[]
  series: Map<string, { counts: number[]; sum: number; count: number }>
}
type Metric = { help: string; type: "counter" | "gauge" | "histogram"; series: Series; histogram?: Histogram }

/** Seconds, from 1 ms to 60 s: flushes, publishes, HTTP requests. */
export const DURATION_BUCKETS_S = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>()

  private get(name: string, help: string, type: Metric["type"]): Metric {
    let metric = this.metrics.get(name)
    if (!metric) {
      metric = { help, type, series: new Map() }
      this.metrics.set(name, metric)
    }
    return metric
  }

  /** Returns an incrementer for a counter (labels optional). */
  counter(name: string, help: string) {
    const metric = this.get(name, help, "counter")
    return (value = 1, labels: Record<string, string> = {}) => {
      const key = renderLabels(labels)
      metric.series.set(key, (metric.series.get(key) ?? 0) + value)
    }
  }

  /** Returns a setter for a gauge. */
  gauge(name: string, help: string) {
    const metric = this.get(name, help, "gauge")
    return (value: number, labels: Record<string, string> = {}) => {
      metric.series.set(renderLabels(labels), value)
    }
  }

  /** Returns an observer for a histogram with the given upper bounds (`+Inf` is added). */
  histogram(name: string, help: string, buckets: readonly number[] = DURATION_BUCKETS_S) {
    const metric = this.get(name, help, "histogram")
    metric.histogram ??= { buckets: [...buckets].sort((a, b) => a - b), series: new Map() }
    const h = metric.histogram
    return (value: number, labels: Record<string, string> = {}) => {
      const key = renderLabels(labels)
      let s = h.series.get(key)
      if (!s) {
        s = { counts: new Array(h.buckets.length).fill(0), sum: 0, count: 0 }
        h.series.set(key, s)
      }
      for (let i = 0; i < h.buckets.length; i++)
        if (value <= (h.buckets[i] as number)) (s.counts[i] as number)++
      s.sum += value
      s.count++
    }
  }

  /** Observations of one histogram series so far (for /status and tests). */
  observations(name: string, labels: Record<string, string> = {}): { count: number; sum: number } {
    const s = this.metrics.get(name)?.histogram?.series.get(renderLabels(labels))
    return { count: s?.count ?? 0, sum: s?.sum ?? 0 }
  }

  /** Current value of one series (for /status and tests). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.metrics.get(name)?.series.get(renderLabels(labels)) ?? 0
  }

  /** Sum over every label set of a metric. */
  sum(name: string): number {
    let total = 0
    for (const value of this.metrics.get(name)?.series.values() ?? []) total += value
    return total
  }

  /** Prometheus text exposition format. */
  render(): string {
    const out: string[] = []
    for (const [name, metric] of this.metrics) {
      out.push(`# HELP ${name} ${metric.help}`, `# TYPE ${name} ${metric.type}`)
      if (metric.series.size === 0 && metric.type === "counter") out.push(`${name} 0`)
      for (const [labels, value] of metric.series) out.push(`${name}${labels} ${value}`)
      if (metric.histogram) renderHistogram(out, name, metric.histogram)
    }
    return `${out.join("\n")}\n`
  }
}

/** Cumulative `_bucket` lines (counts are kept cumulative on observe), then `_sum` and `_count`. */
function renderHistogram(out: string[], name: string, h: Histogram): void {
  for (const [labels, s] of h.series) {
    const withLe = (le: string) => (labels === "" ? `{le="${le}"}` : `${labels.slice(0, -1)},le="${le}"}`)
    h.buckets.forEach((b, i) => {
      out.push(`${name}_bucket${withLe(String(b))} ${s.counts[i]}`)
    })
    out.push(
      `${name}_bucket${withLe("+Inf")} ${s.count}`,
      `${name}_sum${labels} ${s.sum}`,
      `${name}_count${labels} ${s.count}`,
    )
  }
}

function renderLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels)
  if (entries.length === 0) return ""
  const escapeValue = (v: string) => v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")
  return `{${entries.map(([k, v]) => `${k}="${escapeValue(v)}"`).join(",")}}`
}
