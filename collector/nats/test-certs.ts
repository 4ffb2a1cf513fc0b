import { writeFileSync } from "node:fs"
import { join } from "node:path"

/** PEM files of a test CA and of certificates it signed, made with openssl in `dir`. */
export type TestCerts = {
  caFile: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
  /** a second CA that signed nothing here: trusting only it must fail */
  otherCaFile: string
}

/** Makes a CA, a server certificate for 127.0.0.1/localhost and a client certificate (tests only). */
export function makeTestCerts(dir: string): TestCerts {
  const p = (name: string) => join(dir, name)
  const run = (...args: string[]) => {
    const proc = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" })
    if (proc.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${proc.stderr.toString()}`)
  }
  const ca = (name: string) =>
    run(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      p(`${name}.key`),
      "-out",
      p(`${name}.pem`),
    )
  const leaf = (name: string, ext: string) => {
    writeFileSync(p(`${name}.ext`), ext)
    run(
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      p(`${name}.key`),
      "-out",
      p(`${name}.csr`),
    )
    run(
      "x509",
      "-req",
      "-in",
      p(`${name}.csr`),
      "-CA",
      p("test-ca.pem"),
      "-CAkey",
      p("test-ca.key"),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      p(`${name}.ext`),
      "-out",
      p(`${name}.pem`),
    )
  }
  ca("test-ca")
  ca("other-ca")
  leaf("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n")
  leaf("client", "extendedKeyUsage=clientAuth\n")
  return {
    caFile: p("test-ca.pem"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
    clientCert: p("client.pem"),
    clientKey: p("client.key"),
    otherCaFile: p("other-ca.pem"),
  }
}
