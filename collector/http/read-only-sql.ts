/** Accepts a single query statement; anything that could write or attach is refused before DuckDB sees it. */
export function isReadOnlyQuery(sql: string): boolean {
  const text = sql.trim().replace(/;\s*$/, "")
  if (text.includes(";")) return false
  if (!/^(select|with|from|values)\b/i.test(text)) return false
  return !/\b(insert|update|delete|create|drop|alter|attach|detach|copy|export|import|install|load|pragma|set|call|checkpoint|vacuum)\b/i.test(
    text.replace(/'(?:[^']|'')*'/g, "''"),
  )
}
