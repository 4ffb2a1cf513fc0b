import { type Static, Type as T } from "@sinclair/typebox"

/** `[preview]`: the page behind the links in chat alerts (served by the agent's HTTP server at /preview). */
export const PreviewConfigSchema = T.Object(
  {
    collector_public_keys: T.Array(T.String({ minLength: 1 }), {
      default: [],
      description:
        "public key lines ('outpost-ed25519 <base64> <name>') of the collector that signs preview links; several while it rotates its key; none: no preview page",
    }),
    url: T.Optional(
      T.String({
        pattern: "^https?://",
        description:
          "the address people open links to, e.g. https://edge-1.internal:4406 (sent to the collector)",
      }),
    ),
  },
  { additionalProperties: false, default: {} },
)
export type PreviewConfig = Static<typeof PreviewConfigSchema>
