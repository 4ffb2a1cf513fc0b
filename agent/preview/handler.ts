import type { KeyObject } from "node:crypto"
import {
  type PreviewTokenRefusal,
  type PreviewTokenResult,
  verifyPreviewToken,
} from "../../shared/protocol/preview-token.ts"
import { buildPreview, type PreviewBody } from "./body.ts"
import type { Locate } from "./locate.ts"
import { renderPreviewPage } from "./page.ts"

export type PreviewHandlerDeps = {
  /** this agent's id: a link signed for another agent is refused */
  agent: string
  /** shown on the page */
  host: string
  /** the collector's public keys (several while its key is being rotated) */
  publicKeys: KeyObject[]
  locate: Locate
  now?: () => number
}

/** Why a link is refused: the token's own reasons, and "unsigned" for a request without one. */
export type PreviewRefusal = PreviewTokenRefusal | "unsigned"

const REFUSED: Record<PreviewRefusal, string> = {
  unsigned: "this link carries no signed token",
  malformed: "this link's token is malformed",
  bad_signature: "this link's signature does not verify",
  expired: "this link has expired",
  other_agent: "this link is for another agent",
}

// The token is in the URL: no cache may keep the page and no referrer may carry the link further. The page
// has no script and loads nothing; it may not be framed.
const HEADERS = {
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}

/**
 * Answers GET /preview?t=<token> (HTML) and GET /preview.json?t=<token> (JSON): 200 with the lines around the
 * match, 410 when the data is gone (the link was good, the bytes are not there any more), 403 with the reason
 * when the link is refused. Returns null for every other path, for the agent's HTTP handler to answer. The
 * token is the only input read: the file comes from the agent's own records of the generation it names.
 */
export function createPreviewHandler(deps: PreviewHandlerDeps): (request: Request) => Response | null {
  const now = deps.now ?? Date.now
  return (request) => {
    const url = new URL(request.url)
    const json = url.pathname === "/preview.json"
    if (!json && url.pathname !== "/preview") return null
    const send = (status: number, data: unknown, text: string, type = "text/plain; charset=utf-8") =>
      new Response(request.method === "HEAD" ? null : json ? JSON.stringify(data) : text, {
        status,
        headers: {
          ...HEADERS,
          "content-type": json ? "application/json" : type,
          ...(status === 405 && ALLOW),
        },
      })
    if (request.method !== "GET" && request.method !== "HEAD") {
      return send(405, { error: "method not allowed" }, "405 method not allowed\n")
    }
    const verdict = check(url, deps, now())
    if (!verdict.ok) {
      const message = REFUSED[verdict.reason]
      const data = { error: "forbidden", reason: verdict.reason, message }
      return send(403, data, `403 forbidden: ${message} (${verdict.reason})\n`)
    }
    let body: PreviewBody
    try {
      body = buildPreview(verdict.claims, deps.host, deps.locate)
    } catch (error) {
      // the link was good and the file would not read (permissions, I/O): say so, no stack
      const message = `cannot read the file: ${(error as Error).message}`
      return send(500, { error: "internal", message }, `500 ${message}\n`)
    }
    return send(body.status === "ok" ? 200 : 410, body, json ? "" : renderPreviewPage(body), PAGE_TYPE)
  }
}

const ALLOW = { allow: "GET, HEAD" }
const PAGE_TYPE = "text/html; charset=utf-8"

/** The one token of the request, verified; several `t` parameters are refused rather than one picked. */
function check(
  url: URL,
  deps: PreviewHandlerDeps,
  now: number,
): PreviewTokenResult | { ok: false; reason: "unsigned" } {
  const tokens = url.searchParams.getAll("t")
  if (tokens.length === 0 || tokens[0] === "") return { ok: false, reason: "unsigned" }
  if (tokens.length > 1) return { ok: false, reason: "malformed" }
  return verifyPreviewToken(tokens[0] ?? "", { publicKeys: deps.publicKeys, agent: deps.agent, now })
}
