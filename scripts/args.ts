/** Command line of the demo and benchmark scripts: `--name value` flags and boolean switches (lenient on purpose). */
export type ScriptArgs = {
  command: string | undefined
  flags: Map<string, string>
  switches: Set<string>
  rest: string[]
}

/** Splits argv into command, `--flag value` pairs and switches listed in `booleans`. */
export function parseArgs(argv: string[], booleans: string[] = ["help"]): ScriptArgs {
  const flags = new Map<string, string>()
  const switches = new Set<string>()
  const rest: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === "-h") switches.add("help")
    else if (arg.startsWith("--")) {
      const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined]
      if (booleans.includes(name)) switches.add(name)
      else {
        const value = inline ?? argv[++i]
        if (value === undefined) throw new Error(`option --${name} needs a value`)
        flags.set(name, value)
      }
    } else rest.push(arg)
  }
  return { command: rest.shift(), flags, switches, rest }
}
