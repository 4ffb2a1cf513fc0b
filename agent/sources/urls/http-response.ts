/**
 * An incremental HTTP/1.1 response parser for the probe: status line and headers, then a body framed by
 * chunked transfer-encoding, Content-Length, or the end of the connection; 1xx interim responses are skipped.
 * It keeps at most `maxBodyBytes` of the body and counts all of it.
 */

/** Longest status line plus headers accepted. */
export const MAX_HEAD_BYTES = 64 * 1024

export type ResponseHead = { status: number; headers: Map<string, string> }

/** A malformed response (reason `error`). */
export class ResponseParseError extends Error {
  override name = "ResponseParseError"
}

type State =
  | "head"
  | "body-length"
  | "body-close"
  | "chunk-size"
  | "chunk-data"
  | "chunk-crlf"
  | "trailers"
  | "done"

/** Feeds bytes in; `done` once the response is complete; `end()` when the connection closed. */
export class ResponseParser {
  head: ResponseHead | undefined
  /** body bytes received (after de-chunking) */
  bytes = 0
  done = false
  private state: State = "head"
  private buffer: Buffer = Buffer.alloc(0)
  private remaining = 0
  private kept: Buffer[] = []
  private keptBytes = 0

  constructor(
    private readonly noBody: boolean,
    private readonly maxBodyBytes: number,
  ) {}

  /** The body kept (at most maxBodyBytes) and whether more came. */
  body(): { bytes: Uint8Array; truncated: boolean } {
    return { bytes: Buffer.concat(this.kept), truncated: this.bytes > this.keptBytes }
  }

  feed(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    while (!this.done && this.step()) {}
  }

  /** The connection closed: complete when the body runs to the close, else the response was cut short. */
  end(): boolean {
    if (this.state === "body-close") this.finish()
    return this.done
  }

  /** Consumes what it can of the buffer; false when it needs more bytes. */
  private step(): boolean {
    switch (this.state) {
      case "head":
        return this.readHead()
      case "body-length": {
        const n = Math.min(this.remaining, this.buffer.length)
        if (n === 0) return false
        this.take(n)
        this.remaining -= n
        if (this.remaining === 0) this.finish()
        return true
      }
      case "body-close":
        if (this.buffer.length === 0) return false
        this.take(this.buffer.length)
        return false
      case "chunk-size": {
        const line = this.line()
        if (line === undefined) return false
        const size = /^([0-9A-Fa-f]{1,12})[ \t]*(;.*)?$/.exec(line)
        if (!size?.[1])
          throw new ResponseParseError(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`)
        this.remaining = Number.parseInt(size[1], 16)
        this.state = this.remaining === 0 ? "trailers" : "chunk-data"
        return true
      }
      case "chunk-data": {
        const n = Math.min(this.remaining, this.buffer.length)
        if (n === 0) return false
        this.take(n)
        this.remaining -= n
        if (this.remaining === 0) this.state = "chunk-crlf"
        return true
      }
      case "chunk-crlf": {
        const line = this.line()
        if (line === undefined) return false
        if (line !== "") throw new ResponseParseError("chunk data longer than its size")
        this.state = "chunk-size"
        return true
      }
      case "trailers": {
        const line = this.line()
        if (line === undefined) return false
        if (line === "") this.finish()
        return true
      }
      default:
        return false
    }
  }

  private readHead(): boolean {
    const end = this.buffer.indexOf("\r\n\r\n")
    if (end === -1) {
      if (this.buffer.length > MAX_HEAD_BYTES) throw new ResponseParseError("response headers too large")
      return false
    }
    const lines = this.buffer.subarray(0, end).toString("latin1").split("\r\n")
    this.buffer = this.buffer.subarray(end + 4)
    const statusLine = /^HTTP\/1\.[01] ([0-9]{3})(?: .*)?$/.exec(lines[0] ?? "")
    if (!statusLine) {
      throw new ResponseParseError(
        `not an HTTP/1.x response: ${JSON.stringify((lines[0] ?? "").slice(0, 40))}`,
      )
    }
    const status = Number(statusLine[1])
    const headers = new Map<string, string>()
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":")
      if (colon <= 0) throw new ResponseParseError(`bad header line ${JSON.stringify(line.slice(0, 40))}`)
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      const before = headers.get(name)
      headers.set(name, before === undefined ? value : `${before}, ${value}`)
    }
    // 1xx (100 Continue, 103 Early Hints) come before the real response; 101 would switch protocols
    if (status >= 100 && status < 200 && status !== 101) return true
    this.head = { status, headers }
    this.frame(status, headers)
    return true
  }

  private frame(status: number, headers: Map<string, string>): void {
    if (this.noBody || status === 204 || status === 304 || status < 200) {
      this.finish()
      return
    }
    const encoding = headers.get("transfer-encoding")
    if (encoding !== undefined && /(^|,)\s*chunked\s*$/i.test(encoding)) {
      this.state = "chunk-size"
      return
    }
    const length = headers.get("content-length")
    if (length !== undefined && encoding === undefined) {
      const values = new Set(length.split(",").map((v) => v.trim()))
      const [only] = values
      if (values.size !== 1 || only === undefined || !/^[0-9]{1,15}$/.test(only)) {
        throw new ResponseParseError(`bad Content-Length ${JSON.stringify(length.slice(0, 40))}`)
      }
      this.remaining = Number(only)
      if (this.remaining === 0) this.finish()
      else this.state = "body-length"
      return
    }
    this.state = "body-close"
  }

  private line(): string | undefined {
    const end = this.buffer.indexOf("\r\n")
    if (end === -1) {
      if (this.buffer.length > MAX_HEAD_BYTES) throw new ResponseParseError("chunk framing line too long")
      return undefined
    }
    const text = this.buffer.subarray(0, end).toString("latin1")
    this.buffer = this.buffer.subarray(end + 2)
    return text
  }

  private take(n: number): void {
    const part = this.buffer.subarray(0, n)
    this.buffer = this.buffer.subarray(n)
    this.bytes += n
    const room = this.maxBodyBytes - this.keptBytes
    if (room <= 0) return
    const keep = room >= n ? part : part.subarray(0, room)
    // a copy: `part` is a view of a socket buffer
    this.kept.push(Buffer.from(keep))
    this.keptBytes += keep.length
  }

  private finish(): void {
    this.state = "done"
    this.done = true
  }
}
