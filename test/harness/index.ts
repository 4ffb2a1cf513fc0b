export { type NatsServer, startNatsServer } from "./nats-server.ts"
export { freePort, waitFor } from "./ports.ts"
export { tempDir } from "./temp-dir.ts"
