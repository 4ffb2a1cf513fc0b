#!/usr/bin/env bun
/**
 * Prints the nats-server `users` entries for enrolled agent keys, for an external NATS that should give agents
 * the same rights as the collector's local server does:
 *   bun collector/nats/print-users.ts /etc/outpost/enrolled_keys
 */
import { runCli } from "../../shared/cli.ts"
import { ConfigError } from "../../shared/errors.ts"
import { agentUserEntry } from "./auth-config.ts"
import { loadEnrolledAgents } from "./enrolled-agents.ts"

await runCli(async () => {
  const path = process.argv[2]
  if (!path) throw new ConfigError("cli", "usage: print-users.ts <enrolled_keys file or directory>")
  for (const agent of loadEnrolledAgents(path)) console.log(`# ${agent.agent}\n${agentUserEntry(agent)}`)
  return 0
})
