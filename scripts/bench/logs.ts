/** What the agent and collector logged during a run. */
import { readFileSync } from "node:fs"

export type LogFindings = { lines: number; notable: string[]; notableCount: number; lastProgress?: string }

const NOTABLE = /error|fail|warn|retry|retrying|reject|cannot|lost|timeout|timed out|exception|panic|killed/i

/** Lines of a product log worth a look (errors, retries, rejections), and the agent's last progress line. */
export function scanLog(path: string, max = 8): LogFindings {
  let text = ""
  try {
    text = readFileSync(path, "utf8")
  } catch {
    return { lines: 0, notable: [], notableCount: 0 }
  }
  const lines = text.split("\n").filter((l) => l.length > 0)
  const notable = lines.filter((l) => NOTABLE.test(l) && !/retries 0$/.test(l))
  const progress = lines.filter((l) => l.includes(" shipped "))
  return {
    lines: lines.length,
    notable: notable.slice(0, max),
    notableCount: notable.length,
    lastProgress: progress[progress.length - 1],
  }
}

export function printLogFindings(name: string, path: string): LogFindings {
  const f = scanLog(path)
  console.log(`  ${name} log: ${f.lines} lines, ${f.notableCount} notable (error/warn/retry/reject)`)
  for (const l of f.notable) console.log(`    | ${l.length > 300 ? `${l.slice(0, 300)}...` : l}`)
  if (f.notableCount > f.notable.length) console.log(`    | ... ${f.notableCount - f.notable.length} more`)
  if (f.lastProgress) console.log(`    last progress: ${f.lastProgress}`)
  return f
}
