import { expect } from "bun:test"
import { queryNumber, querySql } from "./sql.ts"

/** Asserts DuckDB holds exactly the written lines: each once, in file order within every file generation. */
export async function expectExactlyWritten(httpUrl: string, written: Map<string, number>): Promise<void> {
  const perFile = await querySql(
    httpUrl,
    `SELECT split_part(line, ' ', 1) AS name, count(*) AS n, count(DISTINCT split_part(line, ' ', 2)) AS distinct_n,
            min(split_part(line, ' ', 2)::INT) AS lo, max(split_part(line, ' ', 2)::INT) AS hi
     FROM logs GROUP BY 1 ORDER BY 1`,
  )
  const expected = [...written.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => ({ name, n, distinct_n: n, lo: 0, hi: n - 1 }))
  expect(perFile.map((r) => ({ ...r, n: Number(r.n), distinct_n: Number(r.distinct_n) }))).toEqual(expected)
  const outOfOrder = await queryNumber(
    httpUrl,
    `SELECT count(*) AS n FROM (
       SELECT i, lag(i) OVER (PARTITION BY gen ORDER BY "offset") AS prev
       FROM (SELECT gen, "offset", split_part(line, ' ', 2)::INT AS i FROM logs))
     WHERE prev IS NOT NULL AND i <> prev + 1`,
  )
  expect(outOfOrder).toBe(0)
}
