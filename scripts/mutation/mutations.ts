import { AGENT_MUTATIONS } from "./agent-mutations.ts"
import { COLLECTOR_MUTATIONS } from "./collector-mutations.ts"
import type { Mutation } from "./mutation.ts"
import { PROTOCOL_MUTATIONS } from "./protocol-mutations.ts"

export type { Edit, Mutation } from "./mutation.ts"

/** Every mutation, in the order the check runs them (see mutation.ts for what a mutation is). */
export const MUTATIONS: Mutation[] = [...PROTOCOL_MUTATIONS, ...COLLECTOR_MUTATIONS, ...AGENT_MUTATIONS]
