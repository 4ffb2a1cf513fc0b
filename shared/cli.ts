import type { Static, TSchema } from "@sinclair/typebox"
import { loadConfigFile } from "./config/load.ts"
import { ConfigError } from "./errors.ts"

/** Parsed command line: the sub-command, `--name value` flags and boolean switches. */
export type ParsedArgs = {
  command: string | undefined
  flags: Map<string, string>
  switches: Set<string>
  rest: string[]
}

/** Splits argv into command, `--flag value` pairs and switches listed in `booleans`. */
export function parseArgs(argv: string[], booleans: string[] = ["help", "version"]): ParsedArgs {
  const flags = new Map<string, string>()
  const switches = new Set<string>()
  const rest: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === "-h") switches.add("help")
    else if (arg === "-v") switches.add("version")
    else if (arg.startsWith("--")) {
      const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined]
      if (booleans.includes(name)) switches.add(name)
      else {
        const value = inline ?? argv[++i]
        if (value === undefined) throw new ConfigError("cli", `option --${name} needs a value`)
        flags.set(name, value)
      }
    } else rest.push(arg)
  }
  return { command: rest.shift(), flags, switches, rest }
}

/** Runs a CLI entry point: prints ConfigErrors without a stack and exits non-zero. */
export async function runCli(main: () => Promise<number | undefined>): Promise<never> {
  try {
    process.exit((await main()) ?? 0)
  } catch (error) {
    if (error instanceof ConfigError) console.error(`error: ${error.message}`)
    else console.error(error)
    process.exit(error instanceof ConfigError ? 2 : 1)
  }
}

/**
 * The `run` and `check-config` commands: loads and validates `--config`. Returns the config to run with, or
 * undefined when `check-config` has reported success.
 */
export function configForCommand<S extends TSchema>(
  command: string,
  args: ParsedArgs,
  schema: S,
  help: string,
): Static<S> | undefined {
  if (command !== "run" && command !== "check-config") {
    throw new ConfigError("cli", `unknown command '${command}'\n\n${help}`)
  }
  const path = args.flags.get("config")
  if (!path) throw new ConfigError("cli", "--config <file> is required")
  const config = loadConfigFile(path, schema)
  if (command === "check-config") {
    console.log(`${path}: ok`)
    return undefined
  }
  return config
}
