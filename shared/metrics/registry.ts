/** A minimal Prometheus registry: counters, gauges and histograms with labels, rendered in the text format. */
type Labels = Record<string, string>
type Series = Map<string, number>
type HistogramSeries = { counts: number[]; sum: number; count: number }
type Histogram = { buckets: readonly number[]; series: Map<string, HistogramSeries> }
type MetricType = "counter" | "gauge" | "histogram"
type Metric = {
  help: string
  type: MetricType
  series: Series
  histogram?: Histogram
  /** read at render time instead of set (process metrics); undefined: nothing to report here */
  read?: () => number | undefined
}

/** Seconds, from 1 ms to 60 s: flushes, publishes, HTTP requests. */
export const DURATION_BUCKETS_S = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>()

  private get(name: string, help: string, type: MetricType): Metric {
    let metric = this.metrics.get(name)
    if (!metric) {
      metric = { help, type, series: new Map() }
      this.metrics.set(name, metric)
    } else if (metric.type !== type) {
      throw new Error(`metric ${name} is a ${metric.type}, not a ${type}`)
    }
    return metric
  }

  /** Returns an incrementer for a counter (labels optional). */
  counter(name: string, help: string) {
    const metric = this.get(name, help, "counter")
    return (value = 1, labels: Labels = {}) => {
      const key = renderLabels(labels)
      metric.series.set(key, (metric.series.get(key) ?? 0) + value)
    }
  }

  /** Returns a setter for a gauge. */
  gauge(name: string, help: string) {
    const metric = this.get(name, help, "gauge")
    return (value: number, labels: Labels = {}) => {
      metric.series.set(renderLabels(labels), value)
    }
  }

  /** Returns an observer for a histogram with the given upper bounds (`+Inf` is added). */
  histogram(name: string, help: string, buckets: readonly number[] = DURATION_BUCKETS_S) {
    const metric = this.get(name, help, "histogram")
    metric.histogram ??= { buckets: [...buckets].sort((a, b) => a - b), series: new Map() }
    const h = metric.histogram
    return (value: number, labels: Labels = {}) => {
      const s = histogramSeries(h, renderLabels(labels))
      for (let i = 0; i < h.buckets.length; i++)
        if (value <= (h.buckets[i] as number)) (s.counts[i] as number)++
      s.sum += value
      s.count++
    }
  }

  /**
   * A counter or gauge without labels whose value is read from `read` at each render (CPU time, open fds):
   * nothing to keep up to date between scrapes. When `read` returns undefined the metric is left out.
   */
  observed(name: string, help: string, type: "counter" | "gauge", read: () => number | undefined): void {
    this.get(name, help, type).read = read
  }

  /**
   * Creates a series at 0 (an empty histogram series) unless it exists: label values known in advance are
   * exported before anything happened, so `rate()` and alerts see a 0 rather than no series at all.
   */
  init(name: string, labels: Labels = {}): void {
    const metric = this.metrics.get(name)
    if (!metric) throw new Error(`metric ${name} is not registered`)
    const key = renderLabels(labels)
    if (metric.histogram) histogramSeries(metric.histogram, key)
    else if (!metric.series.has(key)) metric.series.set(key, 0)
  }

  /** Drops one series (e.g. of an agent that is no longer enrolled). */
  remove(name: string, labels: Labels): void {
    const metric = this.metrics.get(name)
    const key = renderLabels(labels)
    metric?.series.delete(key)
    metric?.histogram?.series.delete(key)
  }

  /** Label sets of a metric's series, as rendered (`{agent="a"}`), for tests. */
  labelSets(name: string): string[] {
    const metric = this.metrics.get(name)
    return [...(metric?.histogram?.series.keys() ?? metric?.series.keys() ?? [])]
  }

  /** Observations of one histogram series so far (for /status and tests). */
  observations(name: string, labels: Labels = {}): { count: number; sum: number } {
    const s = this.metrics.get(name)?.histogram?.series.get(renderLabels(labels))
    return { count: s?.count ?? 0, sum: s?.sum ?? 0 }
  }

  /** Current value of one series (for /status and tests). */
  value(name: string, labels: Labels = {}): number {
    const metric = this.metrics.get(name)
    if (metric?.read) return metric.read() ?? 0
    return metric?.series.get(renderLabels(labels)) ?? 0
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
      const read = metric.read ? metric.read() : null
      if (read === undefined) continue
      out.push(`# HELP ${name} ${metric.help}`, `# TYPE ${name} ${metric.type}`)
      if (read !== null) out.push(`${name} ${read}`)
      else if (metric.series.size === 0 && metric.type === "counter") out.push(`${name} 0`)
      for (const [labels, value] of metric.series) out.push(`${name}${labels} ${value}`)
      if (metric.histogram) renderHistogram(out, name, metric.histogram)
    }
    return `${out.join("\n")}\n`
  }
}

function histogramSeries(h: Histogram, key: string): HistogramSeries {
  let s = h.series.get(key)
  if (!s) {
    s = { counts: new Array(h.buckets.length).fill(0), sum: 0, count: 0 }
    h.series.set(key, s)
  }
  return s
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

function renderLabels(labels: Labels): string {
  const entries = Object.entries(labels)
  if (entries.length === 0) return ""
  const escapeValue = (v: string) => v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")
  return `{${entries.map(([k, v]) => `${k}="${escapeValue(v)}"`).join(",")}}`
}
