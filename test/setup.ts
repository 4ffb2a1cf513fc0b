import { setDefaultTimeout } from "bun:test"

// Integration tests start real nats-server, DuckDB and agent processes; events are awaited, not slept on.
setDefaultTimeout(60_000)
