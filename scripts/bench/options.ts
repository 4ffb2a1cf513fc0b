/** Command-line options of a benchmark. */
import { parseArgs } from "../args.ts"

/** `--name value` flags, with `BENCH_NAME` environment variables as fallback. */
export class Options {
  private readonly parsed = parseArgs(process.argv.slice(2), ["help", "keep", "compile"])
  constructor(readonly usage: string) {
    if (this.parsed.switches.has("help")) {
      console.log(usage)
      process.exit(0)
    }
  }
  private raw(name: string): string | undefined {
    return this.parsed.flags.get(name) ?? process.env[`BENCH_${name.toUpperCase().replaceAll("-", "_")}`]
  }
  num(name: string, fallback: number): number {
    const raw = this.raw(name)
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`--${name} must be a non-negative number, not '${raw}'`)
    return value
  }
  str(name: string, fallback: string): string {
    return this.raw(name) ?? fallback
  }
  flag(name: string): boolean {
    const env = process.env[`BENCH_${name.toUpperCase().replaceAll("-", "_")}`]
    return this.parsed.switches.has(name) || env === "1" || env === "true"
  }
}
