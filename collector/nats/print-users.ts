#!/usr/bin/env bun
/**
 * Prints the nats-server `users` entries for enrolled agent keys, for an external NATS that should give agents
 * the same rights as the collector's local server does:
 *   bun collector/nats/print-users.ts /etc/outpost/enrolled_keys
 */
import { formatError } from "../../shared/cli.ts"
import { agentUserEntry } from "./auth-config.ts"
import { loadEnrolledAgents } from "./enrolled-agents.ts"

const path = process.argv[2]
if (!path) {
  console.error("usage: print-users.ts <enrolled_keys file or directory>")
  process.exit(2)
}
try {
  for (const agent of loadEnrolledAgents(path)) console.log(`# ${agent.agent}\n${agentUserEntry(agent)}`)
} catch (error) {
  console.error(formatError(error, process.argv.includes("--debug")))
  process.exit(1)
}
