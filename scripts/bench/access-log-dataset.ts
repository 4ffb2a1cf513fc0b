/** The data bench:tail ships: files of varied ~120-byte access-log lines, written fast from a repeated block. */
import { closeSync, mkdirSync, openSync, statSync, writeSync } from "node:fs"
import { join } from "node:path"
import { MiB } from "./lib.ts"

/** About 1 MiB of varied ~120-byte access-log lines (whole lines only), different for each seed. */
function makeBlock(seed: number): { block: Buffer; lines: number } {
  let s = (seed * 2654435761 + 12345) >>> 0
  const rnd = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    return (s >>> 8) % n
  }
  const methods = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
  const paths = [
    "/",
    "/index.html",
    "/api/v1/items",
    "/ads/serve",
    "/ads/click",
    "/products/",
    "/cart",
    "/login",
  ]
  const statuses = [200, 200, 200, 200, 301, 304, 404, 500]
  const agents = [
    "Mozilla/5.0 (X11; Linux x86_64)",
    "curl/8.5.0",
    "Mozilla/5.0 (iPhone)",
    "Go-http-client/1.1",
  ]
  const lines: string[] = []
  let bytes = 0
  for (;;) {
    const p = paths[rnd(paths.length)] as string
    const line = `10.${rnd(256)}.${rnd(256)}.${rnd(256)} - - [25/Nov/2025:${String(rnd(24)).padStart(2, "0")}:${String(rnd(60)).padStart(2, "0")}:${String(rnd(60)).padStart(2, "0")} +0000] "${methods[rnd(methods.length)]} ${p}${p.endsWith("/") ? rnd(100000) : `?id=${rnd(1000000)}`} HTTP/1.1" ${statuses[rnd(statuses.length)]} ${rnd(90000)} "-" "${agents[rnd(agents.length)]}"\n`
    if (bytes + line.length > MiB) break
    lines.push(line)
    bytes += line.length
  }
  return { block: Buffer.from(lines.join("")), lines: lines.length }
}

export type Dataset = {
  paths: string[]
  sizes: Map<string, number>
  bytes: number
  lines: number
  seconds: number
}

export function writeDataset(logsDir: string, files: number, mibPerFile: number): Dataset {
  const started = performance.now()
  mkdirSync(logsDir, { recursive: true })
  const paths: string[] = []
  const sizes = new Map<string, number>()
  let bytes = 0
  let lines = 0
  for (let i = 0; i < files; i++) {
    const { block, lines: perBlock } = makeBlock(i + 1)
    const path = join(logsDir, `access-${String(i).padStart(2, "0")}.log`)
    const fd = openSync(path, "w")
    const blocks = Math.max(1, Math.round(mibPerFile))
    try {
      for (let b = 0; b < blocks; b++) writeSync(fd, block)
    } finally {
      closeSync(fd)
    }
    paths.push(path)
    sizes.set(path, statSync(path).size)
    bytes += statSync(path).size
    lines += blocks * perBlock
  }
  return { paths, sizes, bytes, lines, seconds: (performance.now() - started) / 1000 }
}
