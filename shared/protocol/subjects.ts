/** Every subject Outpost publishes starts with this token. */
export const SUBJECT_ROOT = "outpost"

/** Record kinds; one envelope carries entries of one kind. */
export const KINDS = ["logs", "urls", "rows", "heartbeats"] as const
export type Kind = (typeof KINDS)[number]

/** `outpost.<kind>.<agent>` */
export function agentSubject(kind: Kind, agent: string, root = SUBJECT_ROOT): string {
  return `${root}.${kind}.${agent}`
}

export function isKind(value: string): value is Kind {
  return (KINDS as readonly string[]).includes(value)
}
