import { readFileSync } from "node:fs"

/**
 * A secret given inline (`key`) or in a file (`key_file`, trimmed), or undefined when neither is set. Problems
 * (both set, a file that cannot be read or is empty) are pushed to `problems`, each naming its field.
 */
export function readSecret(
  problems: string[],
  field: string,
  key: string,
  inline: string | undefined,
  file: string | undefined,
): string | undefined {
  if (inline !== undefined && file !== undefined) {
    problems.push(`${field}: ${key} and ${key}_file are both set; keep one`)
    return undefined
  }
  if (file === undefined) return inline
  let text: string
  try {
    text = readFileSync(file, "utf8").trim()
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    const why = code === "ENOENT" ? "no such file" : (cause as Error).message
    problems.push(`${field}.${key}_file: cannot read ${file}: ${why}`)
    return undefined
  }
  if (text === "") problems.push(`${field}.${key}_file: ${file} is empty`)
  return text === "" ? undefined : text
}
