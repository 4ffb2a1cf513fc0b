import { expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { parseConfig } from "../../shared/config/load.ts"
import { silentLogger } from "../../shared/logger.ts"
import { freePort, recordingLogger, tempDir, waitFor } from "../../test/harness/index.ts"
import { CollectorConfigSchema } from "../config/schema.ts"
import { collectorConnectOptions, connectCollector, localNatsOptions } from "./connect.ts"
import type { LocalNatsServer } from "./local-server.ts"

const config = (nats: Record<string, unknown>) =>
  parseConfig({ data_dir: "/d", enrolled_keys: "/k", nats }, CollectorConfigSchema)
const local = { url: "nats://127.0.0.1:4222", user: "collector", password: "pw" } as LocalNatsServer

test("the local server is reached as the collector user; an external one as nats.auth says", () => {
  expect(collectorConnectOptions(config({}), local)).toMatchObject({
    servers: "nats://127.0.0.1:4222",
    user: "collector",
    pass: "pw",
  })
  const external = collectorConnectOptions(
    config({ url: "nats://nats.example:4222", auth: { type: "token", token: "t0k" } }),
  )
  expect(external).toMatchObject({ servers: "nats://nats.example:4222", token: "t0k" })
  expect(external.user).toBeUndefined()
  expect(collectorConnectOptions(config({ url: "nats://n:4222" })).token).toBeUndefined() // default: none
})

test.each([
  [
    "nats.auth without nats.url",
    { auth: { type: "token", token: "x" } },
    "nats.auth: applies only to an external NATS",
  ],
  [
    "nats.local_tls with nats.url",
    { url: "nats://n:1", local_tls: { cert_file: "/c", key_file: "/k" } },
    "nats.local_tls: applies only",
  ],
  [
    "nats.tls.ca_file unreadable",
    { url: "tls://n:1", tls: { ca_file: "/nonexistent/ca.pem" } },
    "nats.tls.ca_file: cannot read /nonexistent/ca.pem",
  ],
  [
    "cert_file without key_file",
    { url: "tls://n:1", tls: { ca_file: "/x", cert_file: "/c" } },
    "nats.tls: cert_file and key_file go together",
  ],
  [
    "creds_file unreadable",
    { url: "nats://n:1", auth: { type: "creds_file", path: "/nonexistent.creds" } },
    "nats.auth.path: cannot read /nonexistent.creds",
  ],
])("%s is a config error naming the field", (_what, nats, message) => {
  expect(() => collectorConnectOptions(config(nats), local)).toThrow(message)
})

test("nkey_seed_file must hold a NATS seed", async () => {
  await using dir = tempDir()
  const path = join(dir.path, "seed")
  writeFileSync(path, "not a seed\n")
  expect(() =>
    collectorConnectOptions(config({ url: "nats://n:1", auth: { type: "nkey_seed_file", path } })),
  ).toThrow(`nats.auth.path: ${path} does not hold a NATS seed (SU...)`)
  writeFileSync(path, "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY\n")
  const options = collectorConnectOptions(
    config({ url: "nats://n:1", auth: { type: "nkey_seed_file", path } }),
  )
  const authenticator = options.authenticator as (nonce?: string) => { nkey: string }
  expect(authenticator("nonce").nkey).toBe("UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4")
})

test("local_tls.verify_clients needs the CA that client certificates are checked against", () => {
  const c = config({ local_tls: { cert_file: "/c", key_file: "/k", verify_clients: true } })
  expect(() => localNatsOptions(c, [], silentLogger)).toThrow(
    "nats.local_tls.ca_file: required with verify_clients",
  )
})

test("NATS unreachable: said at once with the reason, then held back; the retries go on; abort ends them", async () => {
  const url = `nats://127.0.0.1:${await freePort()}` // nothing listens there
  const log = recordingLogger()
  const reasons: string[] = []
  const abort = new AbortController()
  const connecting = connectCollector(config({ url }), undefined, log, {
    signal: abort.signal,
    onRetry: (reason) => reasons.push(reason),
  }).catch((error: Error & { code?: string }) => error.code)
  await waitFor("three failed attempts", () => reasons.length >= 3)
  abort.abort()
  expect(await connecting).toBe("aborted")
  expect(reasons[0]).toBe("connection refused")
  expect(log.lines.map((l) => [l.level, l.message])).toEqual([
    ["warn", `cannot connect to NATS at ${url}: connection refused; retrying`],
  ])
})
