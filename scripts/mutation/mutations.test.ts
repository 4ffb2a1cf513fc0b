import { expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { MUTATIONS } from "./mutations.ts"

const root = join(import.meta.dir, "../..")
const occurrences = (text: string, find: string) => text.split(find).length - 1

// The code moves on; a mutation whose text is gone would make `npm run test:mutation` stop at its first step.
test("every mutation still applies: each edit's text occurs exactly once, in order, and its tests exist", () => {
  const stale: string[] = []
  for (const m of MUTATIONS) {
    let text = readFileSync(join(root, m.file), "utf8")
    for (const e of m.edits) {
      const n = occurrences(text, e.find)
      if (n !== 1)
        stale.push(`${m.id}: ${JSON.stringify(e.find.slice(0, 60))} occurs ${n} times in ${m.file}`)
      text = text.replace(e.find, e.replace)
    }
    for (const t of m.tests) if (!existsSync(join(root, t))) stale.push(`${m.id}: no test ${t}`)
  }
  expect(stale).toEqual([])
  expect(new Set(MUTATIONS.map((m) => m.id)).size).toBe(MUTATIONS.length)
})
