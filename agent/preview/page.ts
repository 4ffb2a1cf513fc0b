import type { PreviewBody } from "./body.ts"

const html = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

// C0 controls and DEL as their Unicode pictures (ESC shows as ␛): an escape sequence or a NUL in a log line
// must neither vanish nor reach the page as a control character
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it matches
const controls = /[\u0000-\u0008\u000b-\u001f\u007f]/g
const visible = (text: string) =>
  html(text.replace(controls, (c) => String.fromCharCode(c === "\u007f" ? 0x2421 : 0x2400 + c.charCodeAt(0))))

const when = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`

// system fonts only (CSP default-src 'none'); colours follow the phone's light or dark setting
const STYLE = `:root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1b;--dim:#6b6b6b;--line:#e4e4e4;--hit:#fff3b0;--hit-edge:#d9a400;--warn:#8a5a00;--bad:#b00020}
@media (prefers-color-scheme:dark){:root{--bg:#121212;--fg:#e6e6e6;--dim:#9a9a9a;--line:#2c2c2c;--hit:#4a3d00;--hit-edge:#e0b400;--warn:#f0c050;--bad:#ff6b81}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,sans-serif}
header{padding:.8em 1em;border-bottom:1px solid var(--line)}h1{font-size:1.05em;margin:0 0 .4em;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:auto 1fr;gap:.1em .8em;margin:0;font-size:.9em}dt{color:var(--dim)}dd{margin:0;overflow-wrap:anywhere}
code,.log{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.note{margin:.6em 0 0;color:var(--warn);overflow-wrap:anywhere}.gone{padding:1em;color:var(--bad);font-weight:600}
.log{font-size:13px;line-height:1.4;padding:.4em 0}
.l{display:grid;grid-template-columns:auto 1fr;gap:.6em;padding:.05em .8em .05em .5em;border-left:4px solid transparent}
.o{color:var(--dim);font-size:.8em;text-align:right;min-width:5ch;user-select:none;padding-top:.15em}
.t{white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}
.m{background:var(--hit);border-left-color:var(--hit-edge)}.c .t::after{content:" \\2026";color:var(--dim)}
footer{padding:.6em 1em 1.2em;color:var(--dim);font-size:.85em;border-top:1px solid var(--line)}`

/**
 * The preview page: the file's lines around the match (each with its byte offset, the match highlighted), or
 * a clear "the data is gone". Readable on a phone; no script and nothing loaded from anywhere.
 */
export function renderPreviewPage(b: PreviewBody): string {
  const name = b.path ?? `generation ${b.gen}`
  const facts: [string, string][] = [
    ["agent", html(b.agent)],
    ["host", html(b.host)],
    ["file", b.path === null ? "unknown" : `<code>${html(b.path)}</code>`],
    ["source", b.source === null ? "unknown" : html(b.source)],
    ["generation", `<code>${html(b.gen)}</code>`],
    ["offset", `byte ${b.offset}`],
  ]
  if (b.matched_at) facts.push(["matched at", when(b.matched_at)])
  facts.push(["link valid until", when(b.link_expires_at)])
  const notes: string[] = []
  let main: string
  let foot = ""
  if (b.status === "gone") {
    main = `<p class=gone>${html(b.reason)}</p>`
  } else {
    const w = b.window
    if (b.rotated) notes.push(`rotated since: read from <code>${html(b.read_from)}</code>`)
    if (w.matched_truncated) notes.push("the matched line is longer than 4 KiB: only its start is shown")
    if (w.line_end_mismatch) {
      notes.push(
        "the line at this offset is shorter than the one matched: the file may have been rewritten since",
      )
    }
    main = `<main class=log>${w.lines.map(renderLine).join("")}</main>`
    const edges = [w.start === 0 ? "start of file" : "", w.end === b.size ? "end of file" : ""].filter(
      Boolean,
    )
    foot = `<footer>bytes ${w.start}–${w.end} of ${b.size}${edges.length ? ` (${edges.join(", ")})` : ""}</footer>`
  }
  const dl = facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">
<title>${html(name)}, ${html(b.host)}</title><style>${STYLE}</style></head>
<body><header><h1>${html(name)}</h1><dl>${dl}</dl>${notes.map((n) => `<p class=note>${n}</p>`).join("")}</header>
${main}${foot}
</body></html>
`
}

function renderLine(l: { offset: number; text: string; matched: boolean; cut: boolean }): string {
  const cls = `l${l.matched ? " m" : ""}${l.cut ? " c" : ""}`
  const id = l.matched ? " id=match" : ""
  return `<div class="${cls}"${id}><span class=o>${l.offset}</span><span class=t>${visible(l.text)}</span></div>`
}
