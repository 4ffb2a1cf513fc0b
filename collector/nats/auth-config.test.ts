import { expect, test } from "bun:test"
import { authorizationBlock } from "./auth-config.ts"

const edgeKey = Buffer.from("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "hex")

test("one NKEY user per enrolled key, allowed only its own subjects and inbox", () => {
  expect(authorizationBlock("secret", [{ agent: "edge-1", publicKeyRaw: edgeKey }])).toBe(
    [
      "authorization {",
      "  users = [",
      '    { user: "collector", password: "secret" }',
      '    { nkey: "UDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRUVAL", permissions: { publish: { allow: ["outpost.*.edge-1", "outpost-ctl.edge-1.>"] }, subscribe: { allow: ["_INBOX_edge-1.>"] } } }',
      "  ]",
      "}",
    ].join("\n"),
  )
})

test("the same key listed twice for one agent is one user; for two agents it is refused", () => {
  const twice = authorizationBlock("s", [
    { agent: "a", publicKeyRaw: edgeKey },
    { agent: "a", publicKeyRaw: edgeKey },
  ])
  expect(twice.match(/nkey:/g)).toHaveLength(1)
  expect(() =>
    authorizationBlock("s", [
      { agent: "a", publicKeyRaw: edgeKey },
      { agent: "b", publicKeyRaw: edgeKey },
    ]),
  ).toThrow("enrolled for two agents, 'a' and 'b'")
})
