import type { PreviewClaims } from "../../shared/protocol/preview-token.ts"
import { closeLocated, type Locate } from "./locate.ts"
import { readWindow, type WindowLine } from "./window.ts"

/** What the preview shows, as /preview.json sends it and /preview renders it. */
export type PreviewBody = {
  agent: string
  host: string
  gen: string
  offset: number
  /** when the agent read the line, if the link says */
  matched_at: string | null
  link_expires_at: string
  /** the logs source and the path it read the generation at; null when the agent has no record of it */
  source: string | null
  path: string | null
} & (
  | {
      status: "ok"
      /** the generation was rotated (renamed or copied away) since: its bytes come from `read_from` */
      rotated: boolean
      read_from: string
      size: number
      window: {
        start: number
        end: number
        matched_truncated: boolean
        line_end_mismatch: boolean
        lines: WindowLine[]
      }
    }
  | { status: "gone"; reason: string }
)

const iso = (ms: number) => new Date(ms).toISOString()

/** Finds the generation's bytes and reads the window around the matched line (claims already verified). */
export function buildPreview(claims: PreviewClaims, host: string, locate: Locate): PreviewBody {
  const common = {
    agent: claims.agent,
    host,
    gen: claims.gen,
    offset: claims.offset,
    matched_at: claims.at === undefined ? null : iso(claims.at),
    link_expires_at: iso(claims.expiresAt),
  }
  const located = locate(claims.gen, claims.offset)
  if (!located.found) return { ...common, source: null, path: null, status: "gone", reason: located.gone }
  try {
    const where = { source: located.source, path: located.path }
    const w = readWindow(located.file.fd, claims.offset, { lineEnd: claims.line_end })
    if (!w.found) {
      const reason = `the data is gone (the file was truncated: it now has ${w.size} bytes, the line started at byte ${claims.offset})`
      return { ...common, ...where, status: "gone", reason }
    }
    return {
      ...common,
      ...where,
      status: "ok",
      rotated: located.rotated,
      read_from: located.file.path,
      size: w.size,
      window: {
        start: w.start,
        end: w.end,
        matched_truncated: w.matchedTruncated,
        line_end_mismatch: w.lineEndMismatch,
        lines: w.lines,
      },
    }
  } finally {
    closeLocated(located)
  }
}
