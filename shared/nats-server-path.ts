import { existsSync } from "node:fs"

/** Path of the nats-server executable: from PATH, else Debian's /usr/sbin (not on non-root users' PATH). */
export function natsServerPath(): string {
  const found =
    Bun.which("nats-server") ?? ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p))
  if (!found) throw new Error("nats-server is not installed (Debian: apt-get install nats-server)")
  return found
}
