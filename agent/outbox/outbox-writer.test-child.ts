/**
 * Test child for outbox.test.ts (not a test itself): appends numbered `urls` entries to the outbox at argv[2] in a
 * loop and writes the last id of each acknowledged append to stdout, synchronously, until it is killed.
 */
import { writeSync } from "node:fs"
import { openOutbox } from "./outbox.ts"

const path = process.argv[2]
if (!path) throw new Error("usage: outbox-writer.test-child.ts <outbox.db>")
const outbox = openOutbox({ path, maxBytes: 1024 * 1024 * 1024, maxEntries: 100_000_000, firstId: () => 1 })
// a synchronous loop: SIGKILL lands anywhere, in the middle of a transaction too
for (let n = 0; ; n++) {
  const entries = Array.from({ length: 20 }, (_, i) => ({ n: n * 20 + i, pad: "x".repeat(100) }))
  const { lastId } = outbox.append("urls", entries)
  writeSync(1, `${lastId}\n`)
}
