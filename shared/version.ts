import pkg from "../package.json" with { type: "json" }

/** The product version, from package.json (embedded into compiled binaries). */
export const VERSION: string = pkg.version
