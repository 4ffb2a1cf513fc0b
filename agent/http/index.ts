export { type AgentHttpView, createAgentHttpHandler } from "./handler.ts"
export { type AgentHttpServer, serveAgentHttp } from "./server.ts"
export { type AgentStatus, createAgentStatus, PUBLISH_FAILING_MS } from "./status.ts"
