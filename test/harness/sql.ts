/** Runs a read-only query through the collector's /sql endpoint. */
export async function querySql(httpUrl: string, sql: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${httpUrl}/sql?limit=100000&q=${encodeURIComponent(sql)}`)
  const body = (await res.json()) as { rows?: Record<string, unknown>[]; error?: string }
  if (!res.ok || !body.rows) throw new Error(`query failed (${res.status}): ${body.error}`)
  return body.rows
}

/** A single number from a `SELECT ... AS n` query. */
export async function queryNumber(httpUrl: string, sql: string): Promise<number> {
  return Number((await querySql(httpUrl, sql))[0]?.n)
}
