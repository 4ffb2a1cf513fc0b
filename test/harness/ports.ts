import { createServer } from "node:net"

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let delay = 5
  while (Date.now() < deadline) {
    try {
      if (await check()) return
    } catch (error) {
      // not ready yet
      if (process.env.OUTPOST_TEST_LOG) console.log(`waiting for ${what}: ${(error as Error).message}`)
    }
    await Bun.sleep(delay)
    delay = Math.min(delay * 2, 100)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}
