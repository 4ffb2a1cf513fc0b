import { describe, expect, test } from "bun:test"
import {
  envelopeId,
  HEADER,
  type RejectReason,
  type SignedEnvelope,
  sha256Hex,
  signEnvelope,
} from "../../shared/protocol/envelope.ts"
import { generateAgentKeyPair, keyId, loadPrivateKey, publicKeyFromRaw } from "../../shared/protocol/keys.ts"
import { encodeLogsBody } from "../../shared/protocol/logs-body.ts"
import { agentSubject, type Kind } from "../../shared/protocol/subjects.ts"
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
  ])("%s is bad_body", (_name, make, message) => {
    const verdict = judge(make())
    expect(verdict.type).toBe("reject")
    if (verdict.type !== "reject") return
    expect(verdict.rejected.reason).toBe("bad_body")
    expect(verdict.rejected.message).toContain(message)
  })
})

describe("kinds", () => {
  test.each<[string, Kind]>([["rows (a kind this collector does not store yet)", "rows"]])(
    "%s is unsupported_kind, after the signature was checked",
    (_name, kind) => {
      const verdict = judge(envelope(kind, 1, te.encode("{}")))
      expect(verdict.type).toBe("reject")
      if (verdict.type !== "reject") return
      expect(verdict.rejected.reason).toBe("unsupported_kind")
      expect(verdict.rejected.message).toContain(`kind '${kind}' is not stored by this collector`)
    },
  )
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

const reasonOf = (v: Verdict) => (v.type === "reject" ? v.rejected.reason : v.type)
const incoming = (e: SignedEnvelope, streamSeq = 1, redelivered = false) => ({
  subject: e.subject,
  headers: e.headers,
  data: e.body,
  streamSeq,
  redelivered,
})

describe("replays within one batch", () => {
  test("the very same envelope twice in one batch (two stream messages): the second is a replay", () => {
    const ctx = {
      enrollment,
      maxEnvelopeBytes: 1 << 20,
      committedStreamSeq: () => undefined,
      batchIds: new Set<string>(),
    }
    const env = envelope("logs", 3, threeLines())
    expect(reasonOf(judgeMessage(incoming(env, 1), ctx))).toBe("accept")
    expect(reasonOf(judgeMessage(incoming(env, 2), ctx))).toBe("replayed")
  })
})

describe("max_envelope_bytes is inclusive", () => {
  const judgeSized = (env: SignedEnvelope, maxEnvelopeBytes: number) =>
    judgeMessage(incoming(env), {
      enrollment,
      maxEnvelopeBytes,
      committedStreamSeq: () => undefined,
      batchIds: new Set(),
    })

  test("an envelope of exactly max_envelope_bytes is accepted", () => {
    const env = envelope("logs", 3, threeLines())
    expect(reasonOf(judgeSized(env, env.body.length))).toBe("accept")
  })

  test("one byte more than max_envelope_bytes is oversized", () => {
    const env = envelope("logs", 3, threeLines())
    const verdict = judgeSized(env, env.body.length - 1)
    expect(reasonOf(verdict)).toBe("oversized")
    if (verdict.type === "reject") expect(verdict.rejected.message).toContain(`${env.body.length} bytes`)
  })
})

describe("headers refused before the signature is checked", () => {
  test.each<[string, Record<string, string>, RejectReason]>([
    ["Outpost-Version 0 is unsupported_version", { [HEADER.version]: "0" }, "unsupported_version"],
    ["Outpost-Version 2 is unsupported_version", { [HEADER.version]: "2" }, "unsupported_version"],
    ["Outpost-Sent-At after 9999-12-31 is malformed", { [HEADER.sentAt]: "253402300800000" }, "malformed"],
  ])("%s", (_name, changed, reason) => {
    const env = envelope("logs", 3, threeLines())
    expect(reasonOf(judge({ ...env, headers: { ...env.headers, ...changed } }))).toBe(reason)
  })

  test("a correctly signed Outpost-Sent-At after 9999-12-31 is malformed, naming the header", () => {
    const env = signEnvelope({
      privateKey: key.privateKey,
      keyId: kid,
      agent: "edge-1",
      host: "web-1",
      kind: "logs",
      seq: seq++,
      count: 3,
      sentAt: 253402300800000,
      body: threeLines(),
    })
    const verdict = judge(env)
    expect(reasonOf(verdict)).toBe("malformed")
    if (verdict.type === "reject") expect(verdict.rejected.message).toContain(HEADER.sentAt)
  })
})

describe("every field of the canonical string is signed", () => {
  // A second agent and a second key id, both enrolled with the one public key: a header moved to one of them still
  // finds a key that would verify the original signature, so only the canonical string can tell the change.
  const publicKey = publicKeyFromRaw(key.publicKeyRaw)
  const aliasKid = "0123456789abcdef"
  const wide: Enrollment = new Map([
    [
      "edge-1",
      new Map([
        [kid, publicKey],
        [aliasKid, publicKey],
      ]),
    ],
    ["edge-2", new Map([[kid, publicKey]])],
  ])
  const judgeWide = (e: SignedEnvelope) =>
    judgeMessage(incoming(e), {
      enrollment: wide,
      maxEnvelopeBytes: 1 << 20,
      committedStreamSeq: () => undefined,
      batchIds: new Set(),
    })
  const otherBody = () => {
    const raw = te.encode("x\ny\nz\n")
    return encodeLogsBody(
      [{ path: "/var/log/app.log", gen: "g1" }],
      [{ f: 0, s: 0, e: 6 }],
      [{ f: 0, o: 0, n: raw.length, raw: 1, at: 1 }],
      [raw],
    )
  }

  /** What a tamperer changes: headers (merged over the signed ones), and the subject or body if they must follow. */
  type Tamper = (h: Record<string, string>) => {
    headers: Record<string, string>
    subject?: string
    body?: Uint8Array
  }
  const seqOf = (h: Record<string, string>) => Number(h[HEADER.seq])
  const hashOf = (h: Record<string, string>) => h[HEADER.bodySha256] as string
  // Each edit keeps the headers self-consistent (subject, Nats-Msg-Id, body hash), so parsing passes and the
  // signature is the only check left to fail. The version is fixed by parsing (only 1 exists) and the subject
  // follows from agent and kind: those are pinned by the known-answer test in envelope.test.ts.
  test.each<[string, Tamper]>([
    [
      "agent (with its subject and msg id)",
      (h) => ({
        headers: { [HEADER.agent]: "edge-2", [HEADER.msgId]: envelopeId("edge-2", seqOf(h), hashOf(h)) },
        subject: agentSubject("logs", "edge-2"),
      }),
    ],
    ["host", () => ({ headers: { [HEADER.host]: "web-2" } })],
    ["key id (another id of the same key)", () => ({ headers: { [HEADER.keyId]: aliasKid } })],
    [
      "kind (with its subject)",
      () => ({ headers: { [HEADER.kind]: "heartbeats" }, subject: agentSubject("heartbeats", "edge-1") }),
    ],
    [
      "seq (with its msg id)",
      (h) => ({
        headers: {
          [HEADER.seq]: String(seqOf(h) + 1000),
          [HEADER.msgId]: envelopeId("edge-1", seqOf(h) + 1000, hashOf(h)),
        },
      }),
    ],
    ["count", () => ({ headers: { [HEADER.count]: "4" } })],
    ["sent at", () => ({ headers: { [HEADER.sentAt]: "2" } })],
    [
      "body hash (another body, its hash and msg id)",
      (h) => {
        const body = otherBody()
        const hash = sha256Hex(body)
        return {
          headers: { [HEADER.bodySha256]: hash, [HEADER.msgId]: envelopeId("edge-1", seqOf(h), hash) },
          body,
        }
      },
    ],
  ])("tampering with %s fails the signature", (_field, tamper) => {
    const env = envelope("logs", 3, threeLines())
    expect(reasonOf(judgeWide(env))).toBe("accept")
    const t = tamper(env.headers)
    const tampered = {
      ...env,
      headers: { ...env.headers, ...t.headers },
      subject: t.subject ?? env.subject,
      body: t.body ?? env.body,
    }
    expect(reasonOf(judgeWide(tampered))).toBe("signature")
  })
})
