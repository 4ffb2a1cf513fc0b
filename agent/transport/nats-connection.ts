import { connect, type NatsConnection } from "@nats-io/transport-node"

/** Connects to NATS and keeps reconnecting forever: while NATS is down the agent waits, it never exits. */
export async function connectNats(servers: string[], name: string): Promise<NatsConnection> {
  return await connect({
    servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
  })
}
