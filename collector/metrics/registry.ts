/** A minimal Prometheus registry: counters and gauges with labels, rendered in the text format. */
type Series = Map<string, number>
type Metric = { help: string; type: "counter" | "gauge"; series: Series }

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
    }
    return `${out.join("\n")}\n`
  }
}

function renderLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels)
  if (entries.length === 0) return ""
  const escapeValue = (v: string) => v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")
  return `{${entries.map(([k, v]) => `${k}="${escapeValue(v)}"`).join(",")}}`
}
