import { accessSync, constants, mkdirSync, statSync } from "node:fs"
import { dirname } from "node:path"

/**
 * Checks `check-config` shares with `run`: what the file system and the network must allow before anything starts.
 * Each returns a problem line naming the field, or undefined.
 */

/** The directory exists or can be created, and can be written. */
export function writableDir(field: string, path: string): string | undefined {
  try {
    mkdirSync(path, { recursive: true })
  } catch (error) {
    return `${field}: cannot create ${path}: ${(error as Error).message}`
  }
  try {
    if (!statSync(path).isDirectory()) return `${field}: ${path} is not a directory`
    accessSync(path, constants.W_OK | constants.X_OK)
  } catch (error) {
    return `${field}: ${path} is not writable by this user: ${(error as Error).message}`
  }
  return undefined
}

/** A file that will be created (or written) in a directory that must be writable. */
export function writableFile(field: string, path: string): string | undefined {
  try {
    accessSync(path, constants.W_OK)
    return undefined
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      return `${field}: ${path} is not writable by this user: ${(error as Error).message}`
    }
  }
  return writableDir(field, dirname(path))
}

/** A file that must be readable. */
export function readableFile(field: string, path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return `${field}: ${path} is not a regular file`
    accessSync(path, constants.R_OK)
    return undefined
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    return `${field}: cannot read ${path}: ${e.code === "ENOENT" ? "no such file" : e.message}`
  }
}

/** The address can be listened on now (a running instance of the same service holds it: say so). */
export function bindable(field: string, host: string, port: number): string | undefined {
  try {
    const server = Bun.listen({ hostname: host, port, socket: { data() {} } })
    server.stop(true)
    return undefined
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    if (e.code === "EADDRINUSE") {
      return `${field}: ${host}:${port} is in use (another process, or this service already running)`
    }
    return `${field}: cannot listen on ${host}:${port}: ${e.code ?? ""} ${e.message}`.replace("  ", " ")
  }
}

/** A nats:// or tls:// URL with a host and a port in range. */
export function natsUrl(field: string, url: string): string | undefined {
  const port = /^[a-z]+:\/\/[^/]*:(\d+)\/?$/.exec(url)?.[1]
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    return `${field}: port of '${url}' must be 1-65535`
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return `${field}: '${url}' is not a URL`
  }
  if (!parsed.hostname) return `${field}: '${url}' has no host`
  if (parsed.port === "0") return `${field}: port of '${url}' must be 1-65535`
  return undefined
}
