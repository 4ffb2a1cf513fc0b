import { safeText } from "../../shared/log-text.ts"

/**
 * Logs rejections without letting a flood of bad messages flood the journal: at most one line per reason per
 * `intervalMs`; lines held back are counted and reported with the next line for that reason.
 */
export function createRejectLog(log: (message: string) => void, intervalMs = 5000, now = Date.now) {
  const last = new Map<string, { at: number; suppressed: number }>()
  return (reason: string, message: string) => {
    const state = last.get(reason)
    const t = now()
    if (state && t - state.at < intervalMs) {
      state.suppressed++
      return
    }
    const more = state?.suppressed
      ? ` (and ${state.suppressed} more '${reason}' since the last such line)`
      : ""
    last.set(reason, { at: t, suppressed: 0 })
    log(`rejected (${reason}): ${safeText(message)}${more}`)
  }
}
