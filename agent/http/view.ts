import type { UrlsKindStatus } from "../kinds/urls.ts"
import type { SourceStatus } from "../sources/source.ts"
import type { AgentStatus } from "./status.ts"

/** What the agent's HTTP server shows; read at every request. */
export type AgentHttpView = {
  agent: string
  version: string
  startedAt: number
  status: AgentStatus
  /** each configured source, with what it reads now */
  sources(): { name: string; read: SourceStatus }[]
  /** the URL checks and the outbox; undefined when this agent runs no check */
  urls?(): UrlsKindStatus | undefined
  /** Prometheus text */
  metrics(): string
}
