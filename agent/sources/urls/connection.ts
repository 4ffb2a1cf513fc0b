import { lookup } from "node:dns/promises"
import { isIP, type Socket, connect as tcpConnect } from "node:net"
import { type TLSSocket, connect as tlsConnect } from "node:tls"
import { type Conn, connectPlain, nodeConn } from "./conn.ts"
import { ClosedEarly, type Phase, ProbeFailure } from "./failure.ts"

/** Phase durations in ms, summed over the connections of one check; null until a phase happens. */
export type Phases = {
  dns_ms: number | null
  connect_ms: number | null
  tls_ms: number | null
  first_byte_ms: number | null
  transfer_ms: number | null
}

/** One probe's shared state: its deadline, the phase it is in, the connections to destroy at the end. */
export type ProbeContext = {
  /** rejects with the reason the probe must end (its timeout, or the agent stopping) */
  deadline: Promise<never>
  phase: Phase
  phases: Phases
  conns: Set<{ destroy(): void }>
  /** host[:port] being talked to, for messages (changes with redirects) */
  target: string
  /** PEM CA certificate(s) trusted instead of the system's */
  ca?: string
}

export const clock = (): number => performance.now()

/** Adds a completed phase to its sum. */
export function addPhase(ctx: ProbeContext, key: keyof Phases, since: number): void {
  ctx.phases[key] = (ctx.phases[key] ?? 0) + (clock() - since)
}

/**
 * `p`, or the probe's deadline once it rejects (timeout, or the agent stopping). A race against one promise per
 * probe rather than an AbortSignal: no listener is added and removed at every step of every check.
 */
export function abortable<T>(p: Promise<T>, deadline: Promise<never>): Promise<T> {
  return Promise.race([p, deadline])
}

const lastError = new WeakMap<Socket, Error>()

/** A socket of this probe: destroyed when it ends, its errors kept (never an unhandled 'error'). */
function track<S extends Socket>(ctx: ProbeContext, socket: S): S {
  ctx.conns.add(socket)
  socket.on("error", (error) => lastError.set(socket, error))
  return socket
}

/** Resolves on `event`; rejects on an error, a close, or the signal. */
export function once(socket: Socket, event: string, deadline: Promise<never>): Promise<void> {
  return abortable(
    new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        socket.off(event, onEvent)
        socket.off("error", onError)
        socket.off("close", onClose)
        if (error) reject(error)
        else resolve()
      }
      const onEvent = () => done()
      const onError = (error: Error) => done(error)
      const onClose = () => done(lastError.get(socket) ?? new ClosedEarly("connection closed"))
      socket.on(event, onEvent)
      socket.on("error", onError)
      socket.on("close", onClose)
    }),
    deadline,
  )
}

export type Endpoint = { host: string; port: number; tls: boolean }

/**
 * DNS, TCP connect and (for https) the TLS handshake, each timed into `ctx.phases`. An IP literal is not looked
 * up, so its dns_ms stays null: null means "did not happen", 0 would claim a lookup that took no time. The
 * certificate is verified by hand (rejectUnauthorized off, then `authorized`) so that an untrusted or expired
 * one still reports its notAfter; nothing is written to a connection that failed verification.
 */
export async function open(
  ctx: ProbeContext,
  endpoint: Endpoint,
): Promise<{ conn: Conn; certExpiresAt: number | null }> {
  const literal = isIP(endpoint.host) !== 0
  let address = endpoint.host
  if (!literal) {
    ctx.phase = "dns"
    const start = clock()
    address = (await abortable(lookup(endpoint.host), ctx.deadline)).address
    addPhase(ctx, "dns_ms", start)
  }
  ctx.phase = "connect"
  let start = clock()
  if (!endpoint.tls) {
    const conn = await abortable(
      connectPlain(address, endpoint.port, (c) => ctx.conns.add(c)),
      ctx.deadline,
    )
    addPhase(ctx, "connect_ms", start)
    return { conn, certExpiresAt: null }
  }
  const socket = track(ctx, tcpConnect({ host: address, port: endpoint.port }))
  await once(socket, "connect", ctx.deadline)
  addPhase(ctx, "connect_ms", start)

  ctx.phase = "tls"
  start = clock()
  const secure: TLSSocket = track(
    ctx,
    tlsConnect({
      socket,
      host: endpoint.host,
      // SNI takes a DNS name only
      servername: literal ? undefined : endpoint.host,
      ca: ctx.ca,
      rejectUnauthorized: false,
    }),
  )
  await once(secure, "secureConnect", ctx.deadline)
  addPhase(ctx, "tls_ms", start)
  const validTo = secure.getPeerCertificate()?.valid_to
  const parsed = validTo ? Date.parse(validTo) : Number.NaN
  const certExpiresAt = Number.isFinite(parsed) ? parsed : null
  if (!secure.authorized) {
    const why = String(secure.authorizationError ?? "not trusted")
    throw new ProbeFailure("tls", `certificate of ${endpoint.host}: ${why}`, certExpiresAt)
  }
  return { conn: nodeConn(secure), certExpiresAt }
}
