import { type Static, Type as T, type TSchema } from "@sinclair/typebox"

// The `nats.auth` and `nats.tls` config tables that agent and collector share. Each auth method is one table
// tagged by `type`; the agent adds `agent_key` (its signing key as NATS identity), the collector
// `nkey_seed_file`.

const path = (what: string) => T.String({ minLength: 1, description: `a path to ${what}` })

const NoAuth = T.Object({ type: T.Literal("none") }, { additionalProperties: false })
const UserPassword = T.Object(
  {
    type: T.Literal("user_password"),
    user: T.String({ minLength: 1 }),
    password: T.String({ minLength: 1 }),
  },
  { additionalProperties: false },
)
const Token = T.Object(
  { type: T.Literal("token"), token: T.String({ minLength: 1 }) },
  { additionalProperties: false },
)
const CredsFile = T.Object(
  { type: T.Literal("creds_file"), path: path("a NATS .creds file (user JWT + seed)") },
  { additionalProperties: false },
)
const NkeySeedFile = T.Object(
  { type: T.Literal("nkey_seed_file"), path: path("a file holding a NATS user seed (SU...)") },
  { additionalProperties: false },
)
const AgentKey = T.Object({ type: T.Literal("agent_key") }, { additionalProperties: false })

function authUnion<M extends TSchema[]>(members: [...M], forms: string[], fallback: string) {
  return T.Union(members, {
    default: { type: fallback },
    description: `an auth table, one of: ${forms.join(" | ")}`,
  })
}

/** `nats.auth` of the agent: by default its Ed25519 signing key, enrolled on the collector, is its NATS user. */
export const AgentNatsAuthSchema = authUnion(
  [AgentKey, UserPassword, Token, CredsFile, NoAuth],
  [
    '{ type = "agent_key" }',
    '{ type = "user_password", user, password }',
    '{ type = "token", token }',
    '{ type = "creds_file", path }',
    '{ type = "none" }',
  ],
  "agent_key",
)
export type AgentNatsAuth = Static<typeof AgentNatsAuthSchema>

/** `nats.auth` of the collector for an external NATS (`nats.url`); the local server needs none. */
export const CollectorNatsAuthSchema = authUnion(
  [NoAuth, UserPassword, Token, CredsFile, NkeySeedFile],
  [
    '{ type = "none" }',
    '{ type = "user_password", user, password }',
    '{ type = "token", token }',
    '{ type = "creds_file", path }',
    '{ type = "nkey_seed_file", path }',
  ],
  "none",
)
export type CollectorNatsAuth = Static<typeof CollectorNatsAuthSchema>

/** `nats.tls`, the client side: the CA that signed the server's certificate, and a client certificate if asked. */
export const NatsTlsSchema = T.Object(
  {
    ca_file: path("the PEM CA certificate(s) that signed the NATS server's certificate"),
    cert_file: T.Optional(path("this client's PEM certificate (servers that verify clients)")),
    key_file: T.Optional(path("the PEM private key of cert_file")),
  },
  { additionalProperties: false },
)
export type NatsTls = Static<typeof NatsTlsSchema>

/** `nats.local_tls` of the collector: TLS on the nats-server it starts itself. */
export const LocalNatsTlsSchema = T.Object(
  {
    cert_file: path("the server's PEM certificate"),
    key_file: path("the server's PEM private key"),
    ca_file: T.Optional(path("the PEM CA certificate(s) client certificates must be signed by")),
    verify_clients: T.Boolean({ default: false, description: "true to require a client certificate" }),
  },
  { additionalProperties: false },
)
export type LocalNatsTls = Static<typeof LocalNatsTlsSchema>
