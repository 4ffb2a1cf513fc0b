/** Units and paths the benchmarks share. */
import { join } from "node:path"

export const MiB = 1024 * 1024
export const root = join(import.meta.dir, "../..")
