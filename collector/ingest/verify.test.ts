import { describe, expect, test } from "bun:test"
import { type SignedEnvelope, signEnvelope } from "../../shared/protocol/envelope.ts"
import { generateAgentKeyPair, keyId, loadPrivateKey, publicKeyFromRaw } from "../../shared/protocol/keys.ts"
import { encodeLogsBody } from "../../shared/protocol/logs-body.ts"
import type { Kind } from "../../shared/protocol/subjects.ts"
import type { Enrollment } from "./enrollment.ts"
import { judgeMessage, type Verdict } from "./verify.ts"

const te = new TextEncoder()
const key = loadPrivateKey(generateAgentKeyPair().privateKeyPem)
const kid = keyId(key.publicKeyRaw)
const enrollment: Enrollment = new Map([["edge-1", new Map([[kid, publicKeyFromRaw(key.publicKeyRaw)]])]])
let seq = 1

/** Two raw lines and one line part: 3 lines. */
const threeLines = () => {
  const raw = te.encode("a\nb\n")
  const line = te.encode("c")
  return encodeLogsBody(
    [{ path: "/var/log/app.log", gen: "g1" }],
    [{ f: 0, s: 0, e: 6 }],
    [
      { f: 0, o: 0, n: raw.length, raw: 1, at: 1 },
      { f: 0, o: 4, n: line.length, at: 1 },
    ],
    [raw, line],
  )
}

function envelope(kind: Kind, count: number, body: Uint8Array): SignedEnvelope {
  return signEnvelope({
    privateKey: key.privateKey,
    keyId: kid,
    agent: "edge-1",
    host: "web-1",
    kind,
    seq: seq++,
    count,
    sentAt: 1,
    body,
  })
}

function judge(env: SignedEnvelope): Verdict {
  return judgeMessage(
    { subject: env.subject, headers: env.headers, data: env.body, streamSeq: seq, redelivered: false },
    { enrollment, maxEnvelopeBytes: 1024 * 1024, committedStreamSeq: () => undefined, batchIds: new Set() },
  )
}

describe("judging the body against the headers", () => {
  test("a logs envelope whose Outpost-Count matches its lines is accepted", () => {
    const verdict = judge(envelope("logs", 3, threeLines()))
    expect(verdict.type).toBe("accept")
    if (verdict.type === "accept") expect(verdict.envelope.logs?.lines).toBe(3)
  })

  test.each<[string, () => SignedEnvelope, string]>([
    ["count larger than the lines", () => envelope("logs", 4, threeLines()), "says Outpost-Count 4"],
    ["count smaller than the lines", () => envelope("logs", 2, threeLines()), "holds 3 lines"],
    ["count 2^31 - 1 for three lines", () => envelope("logs", 2 ** 31 - 1, threeLines()), "holds 3 lines"],
    ["heartbeats", () => envelope("heartbeats", 1, te.encode("{}")), "kind 'heartbeats'"],
    ["urls", () => envelope("urls", 1, te.encode("{}")), "no body format is defined for kind 'urls'"],
    ["rows", () => envelope("rows", 1, te.encode("{}")), "kind 'rows' in this collector"],
  ])("%s is bad_body", (_name, make, message) => {
    const verdict = judge(make())
    expect(verdict.type).toBe("reject")
    if (verdict.type !== "reject") return
    expect(verdict.rejected.reason).toBe("bad_body")
    expect(verdict.rejected.message).toContain(message)
  })
})

describe("size is judged after the signature", () => {
  const judgeSized = (env: SignedEnvelope, maxEnvelopeBytes: number) =>
    judgeMessage(
      { subject: env.subject, headers: env.headers, data: env.body, streamSeq: seq, redelivered: false },
      { enrollment, maxEnvelopeBytes, committedStreamSeq: () => undefined, batchIds: new Set() },
    )
  const reason = (v: Verdict) => (v.type === "reject" ? v.rejected.reason : v.type)

  test("a genuine envelope over the limit is 'oversized' (it goes to the quarantine, to wait for a raised limit)", () => {
    expect(reason(judgeSized(envelope("logs", 3, threeLines()), 16))).toBe("oversized")
  })

  test("a forged one over the limit is 'signature' (terminated: no raised limit makes it genuine)", () => {
    const env = envelope("logs", 3, threeLines())
    const forged = {
      ...env,
      headers: { ...env.headers, "Outpost-Signature": Buffer.alloc(64, 1).toString("base64") },
    }
    expect(reason(judgeSized(forged, 16))).toBe("signature")
  })

  test("two envelopes with one seq in one batch: the second is a replay even with another body", () => {
    const batchIds = new Set<string>()
    const a = envelope("logs", 3, threeLines())
    const b = signEnvelope({
      privateKey: key.privateKey,
      keyId: kid,
      agent: "edge-1",
      host: "web-1",
      kind: "logs",
      seq: Number(a.headers["Outpost-Seq"]),
      count: 1,
      sentAt: 2,
      body: encodeLogsBody(
        [{ path: "/x", gen: "g2" }],
        [{ f: 0, s: 0, e: 2 }],
        [{ f: 0, o: 0, n: 2, raw: 1, at: 1 }],
        [te.encode("z\n")],
      ),
    })
    const ctx = { enrollment, maxEnvelopeBytes: 1 << 20, committedStreamSeq: () => undefined, batchIds }
    const at = (e: SignedEnvelope, s: number) => ({
      subject: e.subject,
      headers: e.headers,
      data: e.body,
      streamSeq: s,
      redelivered: false,
    })
    expect(judgeMessage(at(a, 1), ctx).type).toBe("accept")
    expect(reason(judgeMessage(at(b, 2), ctx))).toBe("replayed")
  })
})
