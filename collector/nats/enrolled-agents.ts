import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { ConfigError } from "../../shared/errors.ts"
import { parsePublicKeyLine } from "../../shared/protocol/keys.ts"
import type { NatsAgent } from "./auth-config.ts"

/** Every enrolled key with its agent, from `enrolled_keys` (a file of key lines or a directory of `*.pub`). */
export function loadEnrolledAgents(path: string): NatsAgent[] {
  let files: string[]
  try {
    files = statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((name) => name.endsWith(".pub"))
          .sort()
          .map((name) => join(path, name))
      : [path]
  } catch (cause) {
    throw new ConfigError(
      "enrollment_unreadable",
      `enrolled_keys: cannot read ${path}: ${(cause as Error).message}`,
      {
        cause,
      },
    )
  }
  const agents: NatsAgent[] = []
  for (const file of files) {
    readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, index) => {
        try {
          const parsed = parsePublicKeyLine(line)
          if (parsed) agents.push(parsed)
        } catch (error) {
          throw new ConfigError(
            "enrollment_invalid",
            `enrolled_keys: ${file}:${index + 1}: ${(error as Error).message}`,
          )
        }
      })
  }
  return agents
}
