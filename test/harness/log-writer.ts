import { appendFileSync, copyFileSync, renameSync, truncateSync } from "node:fs"
import { join } from "node:path"

/** Writes numbered lines to named log files and remembers how many each logical file got. */
export class LogWriter {
  readonly written = new Map<string, number>()
  constructor(private readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, `${name}.log`)
  }

  /** Appends `count` lines `<name> <i> <padding>` (about 120 bytes each) to `<name>.log`. */
  append(name: string, count: number): void {
    this.appendTo(this.path(name), name, count)
  }

  /** Appends the next `count` lines of logical file `name` to `path` (e.g. its rotated file). */
  appendTo(path: string, name: string, count: number): void {
    let next = this.written.get(name) ?? 0
    let text = ""
    for (let k = 0; k < count; k++, next++) {
      text += `${name} ${next} GET /index.html?page=${next % 97} HTTP/1.1 200 5120 "-" "Mozilla/5.0 (X11; Linux x86_64)"\n`
    }
    appendFileSync(path, text)
    this.written.set(name, next)
  }

  /** Rotation by rename + create, as logrotate's default does. */
  rotateByRename(name: string, suffix = ".1"): string {
    const rotated = `${this.path(name)}${suffix}`
    renameSync(this.path(name), rotated)
    return rotated
  }

  /** logrotate's copytruncate: copy the file aside, then truncate it in place. */
  copyTruncate(name: string, suffix = ".1"): void {
    copyFileSync(this.path(name), `${this.path(name)}${suffix}`)
    truncateSync(this.path(name), 0)
  }

  get total(): number {
    let n = 0
    for (const v of this.written.values()) n += v
    return n
  }
}
