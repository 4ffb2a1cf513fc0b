import { expect, test } from "bun:test"
import { createEntryKinds, ENTRY_KINDS, entryKind } from "./registry.ts"
import { URLS_CONFIG_DEFAULTS } from "./urls/index.ts"

test("a collector's kind modules are the registry's kinds, each once: none is accepted and then unwritable", () => {
  const { modules } = createEntryKinds({ urls: URLS_CONFIG_DEFAULTS })
  expect(modules.map((m) => m.kind).sort()).toEqual(ENTRY_KINDS.map((k) => k.kind).sort())
  expect(new Set(modules.map((m) => m.kind)).size).toBe(modules.length)
  expect(entryKind("heartbeats")?.kind).toBe("heartbeats")
  expect(entryKind("rows")).toBeUndefined()
})
