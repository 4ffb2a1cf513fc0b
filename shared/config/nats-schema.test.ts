import { expect, test } from "bun:test"
import { Type as T } from "@sinclair/typebox"
import { parseConfig } from "./load.ts"
import { AgentNatsAuthSchema, CollectorNatsAuthSchema, NatsTlsSchema } from "./nats-schema.ts"

const Agent = T.Object({ auth: AgentNatsAuthSchema, tls: T.Optional(NatsTlsSchema) })
const Collector = T.Object({ auth: CollectorNatsAuthSchema })

test("the agent authenticates with its own key by default, the collector with nothing", () => {
  expect(parseConfig({}, Agent).auth).toEqual({ type: "agent_key" })
  expect(parseConfig({}, Collector).auth).toEqual({ type: "none" })
})

test.each([
  [
    "an unknown type",
    { auth: { type: "kerberos" } },
    "auth: expected union value (expected an auth table, one of:",
  ],
  [
    "a missing field",
    { auth: { type: "user_password", user: "u" } },
    '{ type = "user_password", user, password }',
  ],
  [
    "the collector's method on the agent",
    { auth: { type: "nkey_seed_file", path: "/s" } },
    "auth: expected union value",
  ],
  ["a TLS table without its CA", { tls: { cert_file: "/c" } }, "tls.ca_file: required field is missing"],
])("%s is an error naming the field and the accepted forms", (_what, raw, message) => {
  expect(() => parseConfig(raw, Agent)).toThrow(message)
})
