import type { AgentStatusBody } from "./status-body.ts"

const html = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const bytes = (n: number) =>
  n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`

/**
 * The page at /: the agent's state and, per source, each configured path with the files it matches and each
 * file being read (path, generation, read position, size, bytes behind, state), like Promtail's /targets.
 */
export function renderFilesPage(s: AgentStatusBody): string {
  const nats = s.nats.connected
    ? `connected to ${html(s.nats.server ?? "?")} since ${s.nats.since}`
    : `<b>not connected</b> since ${s.nats.since} (${html(s.nats.reason ?? "unknown")})`
  const problems =
    s.problems.length === 0
      ? "<p class=ok>healthy</p>"
      : `<ul class=bad>${s.problems.map((p) => `<li>${html(p)}</li>`).join("")}</ul>`
  const sources = s.sources.map((src) => {
    const patterns = src.patterns
      .map((p) => `<li><code>${html(p.pattern)}</code>: ${p.files} file${p.files === 1 ? "" : "s"}</li>`)
      .join("")
    const rows = src.files
      .map(
        (f) =>
          `<tr><td><code>${html(f.path)}</code></td><td><code title="${html(f.gen)}">${html(f.gen.slice(0, 8))}</code></td>` +
          `<td>${f.state}</td><td>${f.position}</td><td>${f.acked}</td><td>${f.size}</td>` +
          `<td${f.behind > 0 ? " class=behind" : ""}>${bytes(f.behind)}</td></tr>`,
      )
      .join("")
    const error = src.error ? `: ${html(src.error)}` : ""
    return (
      `<h2>logs[${html(src.name)}] <small>${src.state}${error}</small></h2><ul>${patterns}</ul>` +
      (src.files.length === 0
        ? "<p>no file being read</p>"
        : "<table><tr><th>path</th><th>generation</th><th>state</th><th>read position</th>" +
          `<th>acknowledged</th><th>size</th><th>behind</th></tr>${rows}</table>`)
    )
  })
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>outpost-agent ${html(s.agent)}</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}td:first-child,th:first-child{text-align:left}
.ok,.up{color:#070}.bad,.down{color:#b00}.degraded{color:#a60}.behind{color:#a60}small{font-weight:normal;color:#666}</style></head>
<body><h1>outpost-agent ${html(s.agent)} <small>${html(s.version)}, up ${s.uptime_s} s</small></h1>
<p>NATS: ${nats}; last publish: ${s.last_publish_at ?? "none yet"}</p>${problems}
${sources.join("\n")}
${s.urls ? renderUrls(s.urls) : ""}
<p><small><a href="/health">/health</a> <a href="/metrics">/metrics</a> <a href="/status">/status</a> (JSON)</small></p>
</body></html>
`
}

/** The URL checks (last outcome, latency, schedule drift) and what waits in the outbox. */
function renderUrls(u: NonNullable<AgentStatusBody["urls"]>): string {
  const rows = u.checks
    .map((c) => {
      const outcome = c.outcome ? `<span class=${c.outcome}>${c.outcome}</span>` : "not run yet"
      const why = c.reason ? ` (${html(c.reason)}${c.message ? `: ${html(c.message)}` : ""})` : ""
      return (
        `<tr><td>${html(c.name)}</td><td><code>${html(c.url)}</code></td><td>${outcome}${why}</td>` +
        `<td>${c.status ?? ""}</td><td>${c.total_ms === null ? "" : `${Math.round(c.total_ms)} ms`}</td>` +
        `<td>${c.streak}</td><td>${c.runs}</td><td>${c.skips}</td><td>${c.max_drift_ms.toFixed(1)} ms</td>` +
        `<td>${c.last_run_at ?? ""}</td></tr>`
      )
    })
    .join("")
  const o = u.outbox
  const waiting = o.entries === 0 ? "empty" : `${o.entries} entries (${bytes(o.bytes)}) since ${o.oldest_at}`
  const drops =
    o.dropped_since_start === 0
      ? ""
      : `; <span class=bad>${o.dropped_since_start} dropped by its bound since start, ${o.dropped_unreported} not reported yet</span>`
  const others =
    u.other_agents.length > 0 ? `<p>run by other agents: ${u.other_agents.map(html).join(", ")}</p>` : ""
  return (
    `<h2>urls <small>${u.checks.length} check${u.checks.length === 1 ? "" : "s"}</small></h2>` +
    `<p>outbox: ${waiting}${drops}</p>` +
    "<table><tr><th>check</th><th>url</th><th>last outcome</th><th>status</th><th>total</th><th>streak</th>" +
    `<th>runs</th><th>skipped</th><th>max drift</th><th>last run</th></tr>${rows}</table>${others}`
  )
}
