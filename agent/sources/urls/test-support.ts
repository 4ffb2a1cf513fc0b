import { readFileSync, writeFileSync } from "node:fs"
import { createServer, type Socket } from "node:net"
import { join } from "node:path"
import { Value } from "@sinclair/typebox/value"
import { type UrlCheckConfig, UrlCheckSchema } from "./schema.ts"

/** A check config with the schema's defaults filled in (and short test-friendly timings). */
export function testCheck(fields: Partial<UrlCheckConfig> & Pick<UrlCheckConfig, "url">): UrlCheckConfig {
  const value = Value.Default(UrlCheckSchema, { timeout_s: 2, period_s: 5, ...fields }) as UrlCheckConfig
  const errors = [...Value.Errors(UrlCheckSchema, value)].map((e) => `${e.path}: ${e.message}`)
  if (errors.length > 0) throw new Error(`bad test check: ${errors.join("; ")}`)
  return value
}

export type KeyPair = { cert: string; key: string }

/** Certificates made with openssl for one test run; leaves for 127.0.0.1 and localhost unless said otherwise. */
export type TestCertificates = {
  /** the test CA (PEM file) that signed every leaf but `selfSigned` */
  caFile: string
  valid: KeyPair
  /** valid now, notAfter in 3 days */
  expiring: KeyPair
  /** notAfter in 2020 */
  expired: KeyPair
  /** for other.test only */
  wrongName: KeyPair
  /** signed by itself, no CA */
  selfSigned: KeyPair
}

const DAY = 86_400_000

function openssl(dir: string, args: string[]): void {
  const run = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" })
  if (run.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${run.stderr.toString()}`)
}

/** openssl ca's date form, YYYYMMDDHHMMSSZ (UTC). */
const asn1Time = (ms: number) => `${new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`

/**
 * A CA and leaves with chosen validity, through `openssl ca -startdate/-enddate` (openssl 3.0 has no
 * `x509 -not_before`), so an expired certificate needs no fake clock.
 */
export function makeCertificates(dir: string): TestCertificates {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
  openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "3650",
    "-subj",
    "/CN=Outpost Test CA",
  ])
  writeFileSync(join(dir, "index.txt"), "")
  writeFileSync(join(dir, "serial"), "1000\n")
  writeFileSync(
    join(dir, "ca.cnf"),
    [
      "[ca]",
      "default_ca = test",
      "[test]",
      "database = index.txt",
      "new_certs_dir = .",
      "certificate = ca.pem",
      "private_key = ca.key",
      "serial = serial",
      "default_md = sha256",
      "policy = any",
      "unique_subject = no",
      "[any]",
      "commonName = supplied",
      "[here]",
      "subjectAltName = IP:127.0.0.1,DNS:localhost",
      "basicConstraints = CA:FALSE",
      "[elsewhere]",
      "subjectAltName = DNS:other.test",
      "basicConstraints = CA:FALSE",
      "",
    ].join("\n"),
  )
  const now = Date.now()
  const leaf = (name: string, from: number, to: number, extensions = "here"): KeyPair => {
    openssl(dir, ["req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`])
    openssl(dir, [
      "ca",
      "-batch",
      "-config",
      "ca.cnf",
      "-extensions",
      extensions,
      "-notext",
      "-startdate",
      asn1Time(from),
      "-enddate",
      asn1Time(to),
      "-in",
      `${name}.csr`,
      "-out",
      `${name}.pem`,
    ])
    return { cert: read(dir, `${name}.pem`), key: read(dir, `${name}.key`) }
  }
  openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "self.key",
    "-out",
    "self.pem",
    "-days",
    "30",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
  ])
  return {
    caFile: join(dir, "ca.pem"),
    valid: leaf("valid", now - DAY, now + 90 * DAY),
    expiring: leaf("expiring", now - DAY, now + 3 * DAY),
    expired: leaf("expired", Date.UTC(2020, 0, 1), Date.UTC(2020, 1, 1)),
    wrongName: leaf("wrong-name", now - DAY, now + 90 * DAY, "elsewhere"),
    selfSigned: { cert: read(dir, "self.pem"), key: read(dir, "self.key") },
  }
}

const read = (dir: string, name: string) => readFileSync(join(dir, name), "utf8")

/** A TCP server on 127.0.0.1 that hands each connection to `onConnection` (raw HTTP, hangs, resets). */
export async function rawServer(
  onConnection: (socket: Socket) => void,
): Promise<{ port: number; url: string; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  let count = 0
  const server = createServer((socket) => {
    count++
    sockets.add(socket)
    socket.on("error", () => {})
    socket.on("close", () => sockets.delete(socket))
    onConnection(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address ? address.port : 0
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Accepts connections and never answers. */
export const hangingServer = () => rawServer(() => {})

/** Sends headers and part of the promised body, then drops the connection. */
export const resettingServer = () =>
  rawServer((socket) => {
    socket.once("data", () => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly part of it")
      setTimeout(() => socket.destroy(), 10)
    })
  })
