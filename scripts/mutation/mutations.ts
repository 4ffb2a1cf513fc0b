/**
 * Hand-written mutations of the modules whose bugs would break Outpost's promises: each is a small, realistic
 * edit (one an engineer could make by mistake) that the tests listed with it must notice. `critical` marks an
 * edit of an ack, commit, signature or dedup decision: every one of those must be caught.
 */
export type Edit = { find: string; replace: string }

export type Mutation = {
  id: string
  file: string
  /** applied in order; each `find` must occur exactly once in the file at that point */
  edits: Edit[]
  /** the bug, in words */
  bug: string
  critical: boolean
  /** test files (or folders) that should catch it */
  tests: string[]
}

const ENVELOPE = ["shared/protocol/envelope.test.ts", "collector/ingest/verify.test.ts"]
const BODY = ["shared/protocol/logs-body.test.ts", "collector/ingest/verify.test.ts"]
const COVERAGE = [
  "collector/sinks/duckdb/coverage.test.ts",
  "collector/sinks/duckdb/log-parts.test.ts",
  "collector/sinks/duckdb/writer.test.ts",
]
const WRITER = [
  "collector/sinks/duckdb/writer.test.ts",
  "collector/sinks/duckdb/writer-bounds.test.ts",
  "collector/sinks/duckdb/log-parts.test.ts",
]
const INGEST = [
  "collector/ingest/process-batch.int.test.ts",
  "collector/ingest/ingest.int.test.ts",
  "collector/ingest/write-failure.int.test.ts",
  "collector/ingest/quarantine.int.test.ts",
  "collector/ingest/storage.int.test.ts",
  "test/e2e/collector-crash.int.test.ts",
]
const TAILER = ["agent/sources/logs/tailer.test.ts", "agent/sources/logs/source.test.ts"]
const TRACKER = [
  "agent/sources/logs/rotation.test.ts",
  "agent/sources/logs/restart.test.ts",
  "agent/sources/logs/source.test.ts",
  "agent/sources/logs/model.test.ts",
]
const TRANSPORT = ["agent/transport/logs-transport.int.test.ts", "agent/transport/publisher.int.test.ts"]

const one = (find: string, replace: string): Edit[] => [{ find, replace }]

export const MUTATIONS: Mutation[] = [
  // --- envelope: parse and signature
  {
    id: "envelope.canonical-without-sent-at",
    file: "shared/protocol/envelope.ts",
    edits: one("    String(meta.sentAt),\n", ""),
    bug: "Outpost-Sent-At is not signed",
    critical: true,
    tests: ENVELOPE,
  },
  {
    id: "envelope.canonical-without-host",
    file: "shared/protocol/envelope.ts",
    edits: one("    meta.host,\n    meta.keyId,", "    meta.keyId,"),
    bug: "Outpost-Host is not signed",
    critical: true,
    tests: ENVELOPE,
  },
  {
    id: "envelope.canonical-without-count",
    file: "shared/protocol/envelope.ts",
    edits: one("    String(meta.count),\n", ""),
    bug: "Outpost-Count is not signed",
    critical: true,
    tests: ENVELOPE,
  },
  {
    id: "envelope.canonical-without-kind",
    file: "shared/protocol/envelope.ts",
    edits: one("    meta.kind,\n    meta.subject,", "    meta.subject,"),
    bug: "Outpost-Kind is not signed (the subject still is)",
    critical: true,
    tests: ENVELOPE,
  },
  {
    id: "envelope.body-hash-unchecked",
    file: "shared/protocol/envelope.ts",
    edits: one("if (sha256Hex(body) !== envelope.bodySha256) {", "if (false) {"),
    bug: "the body is not compared with its signed hash",
    critical: true,
    tests: [...ENVELOPE, "collector/ingest/ingest.int.test.ts"],
  },
  {
    id: "envelope.signature-unchecked",
    file: "shared/protocol/envelope.ts",
    edits: one(
      "if (!verify(null, Buffer.from(canonicalString(envelope))",
      "if (false && !verify(null, Buffer.from(canonicalString(envelope))",
    ),
    bug: "the signature is not verified",
    critical: true,
    tests: [...ENVELOPE, "collector/ingest/ingest.int.test.ts"],
  },
  {
    id: "envelope.older-versions-accepted",
    file: "shared/protocol/envelope.ts",
    edits: one("if (version !== PROTOCOL_VERSION) {", "if (version > PROTOCOL_VERSION) {"),
    bug: "Outpost-Version 0 is accepted",
    critical: false,
    tests: ENVELOPE,
  },
  {
    id: "envelope.msg-id-unchecked",
    file: "shared/protocol/envelope.ts",
    edits: one("if (id !== expectedId) throw", "if (false) throw"),
    bug: "Nats-Msg-Id need not match agent, seq and body hash (ids can be squatted in the dup window)",
    critical: true,
    tests: ENVELOPE,
  },
  {
    id: "envelope.subject-unchecked",
    file: "shared/protocol/envelope.ts",
    edits: one("if (subject !== expectedSubject) {", "if (false) {"),
    bug: "an envelope may arrive on another agent's subject",
    critical: false,
    tests: ENVELOPE,
  },
  {
    id: "envelope.count-unbounded",
    file: "shared/protocol/envelope.ts",
    edits: one("if (count > 2 ** 31 - 1)", "if (count > 2 ** 53)"),
    bug: "a count that does not fit the INTEGER column is accepted",
    critical: false,
    tests: ENVELOPE,
  },
  {
    id: "envelope.sent-at-unbounded",
    file: "shared/protocol/envelope.ts",
    edits: one("const MAX_SENT_AT_MS = 253402300799999", "const MAX_SENT_AT_MS = Number.MAX_SAFE_INTEGER"),
    bug: "an Outpost-Sent-At beyond DuckDB's TIMESTAMP range passes parsing (and fails every write)",
    critical: false,
    tests: ENVELOPE,
  },
  // --- verify: judging one message
  {
    id: "verify.oversized-off-by-one",
    file: "collector/ingest/verify.ts",
    edits: one("msg.data.length > ctx.maxEnvelopeBytes) {", "msg.data.length >= ctx.maxEnvelopeBytes) {"),
    bug: "an envelope of exactly max_envelope_bytes is refused",
    critical: false,
    tests: ENVELOPE,
  },
  {
    id: "verify.batch-replay-unseen",
    file: "collector/ingest/verify.ts",
    edits: one("committedAt !== undefined || ctx.batchIds.has(batchKey)", "committedAt !== undefined"),
    bug: "the same envelope twice in one batch is accepted twice",
    critical: true,
    tests: ENVELOPE,
  },
  {
    id: "verify.batch-ids-not-added",
    file: "collector/ingest/verify.ts",
    edits: one("    ctx.batchIds.add(batchKey)\n", ""),
    bug: "accepted envelopes are not remembered within their batch",
    critical: true,
    tests: ENVELOPE,
  },
  {
    id: "verify.committed-unseen",
    file: "collector/ingest/verify.ts",
    edits: one("committedAt !== undefined || ctx.batchIds.has(batchKey)", "ctx.batchIds.has(batchKey)"),
    bug: "an envelope committed earlier is accepted again",
    critical: true,
    tests: [...ENVELOPE, "collector/ingest/ingest.int.test.ts"],
  },
  {
    id: "verify.every-repeat-is-harmless",
    file: "collector/ingest/verify.ts",
    edits: one("if (msg.redelivered || committedAt === msg.streamSeq)", "if (true)"),
    bug: "a replay (a new stream message with a committed id) is acked as a duplicate, not recorded",
    critical: true,
    tests: [...ENVELOPE, "collector/ingest/ingest.int.test.ts"],
  },
  {
    id: "verify.count-may-exceed-lines",
    file: "collector/ingest/verify.ts",
    edits: one("if (envelope.logs.lines !== meta.count) {", "if (envelope.logs.lines > meta.count) {"),
    bug: "an Outpost-Count larger than the body's lines is accepted",
    critical: false,
    tests: ENVELOPE,
  },
  // --- logs body decoding
  {
    id: "body.span-order-unchecked",
    file: "shared/protocol/logs-body.ts",
    edits: one("span.e < span.s", "span.e < 0"),
    bug: "a span with s > e is accepted",
    critical: false,
    tests: BODY,
  },
  {
    id: "body.negative-bounds",
    file: "shared/protocol/logs-body.ts",
    edits: one("Number.isSafeInteger(v) && v >= 0", "Number.isSafeInteger(v)"),
    bug: "negative offsets, sizes and bounds are accepted",
    critical: false,
    tests: BODY,
  },
  {
    id: "body.fractional-bounds",
    file: "shared/protocol/logs-body.ts",
    edits: one("Number.isSafeInteger(v) && v >= 0", "Number.isFinite(v) && v >= 0"),
    bug: "non-integer offsets and bounds are accepted",
    critical: false,
    tests: BODY,
  },
  {
    id: "body.payload-may-be-longer",
    file: "shared/protocol/logs-body.ts",
    edits: one("if (total !== payload.length) {", "if (total > payload.length) {"),
    bug: "payload bytes no part accounts for are accepted",
    critical: false,
    tests: BODY,
  },
  {
    id: "body.raw-without-newline",
    file: "shared/protocol/logs-body.ts",
    edits: one("else if (bytes[end - 1] !== NL) {", "else if (false) {"),
    bug: "a raw part not ending in a newline is accepted",
    critical: false,
    tests: BODY,
  },
  {
    id: "body.unknown-file-index",
    file: "shared/protocol/logs-body.ts",
    edits: one("part.f >= m.files.length", "part.f > m.files.length"),
    bug: "a part may refer to one file past the list",
    critical: false,
    tests: BODY,
  },
  {
    id: "body.parts-unbounded",
    file: "shared/protocol/logs-body.ts",
    edits: one("m.parts.length > MAX_LOGS_PARTS)", "m.parts.length > MAX_LOGS_PARTS * 10)"),
    bug: "the per-body part bound is not enforced",
    critical: false,
    tests: [...BODY, "collector/sinks/duckdb/writer-bounds.test.ts"],
  },
  // --- coverage (dedup of lines by byte range)
  {
    id: "coverage.range-end-inclusive",
    file: "collector/sinks/duckdb/coverage.ts",
    edits: one(
      "if ((covered[mid] as Range).end <= at) lo = mid + 1",
      "if ((covered[mid] as Range).end < at) lo = mid + 1",
    ),
    bug: "a line starting exactly where coverage ends counts as stored (it is dropped)",
    critical: true,
    tests: COVERAGE,
  },
  {
    id: "coverage.small-gap-lost",
    file: "collector/sinks/duckdb/coverage.ts",
    edits: one(
      "if (r.start > at) out.push({ start: at, end: r.start })",
      "if (r.start > at + 1) out.push({ start: at, end: r.start })",
    ),
    bug: "a one-byte gap between stored ranges is taken as stored",
    critical: true,
    tests: COVERAGE,
  },
  {
    id: "coverage.tail-lost",
    file: "collector/sinks/duckdb/coverage.ts",
    edits: one("  if (at < end) out.push({ start: at, end })\n", ""),
    bug: "the part of a range after the last stored range is taken as stored",
    critical: true,
    tests: COVERAGE,
  },
  {
    id: "coverage.merge-shrinks",
    file: "collector/sinks/duckdb/coverage.ts",
    edits: one(
      "if (next.end > open.end) open = { start: open.start, end: next.end }",
      "open = { start: open.start, end: next.end }",
    ),
    bug: "merging a range inside another shrinks coverage (lines are stored again)",
    critical: true,
    tests: COVERAGE,
  },
  {
    id: "coverage.touching-not-merged",
    file: "collector/sinks/duckdb/coverage.ts",
    edits: one("if (open && next.start <= open.end) {", "if (open && next.start < open.end) {"),
    bug: "touching ranges are kept apart (log_coverage grows with every envelope)",
    critical: false,
    tests: COVERAGE,
  },
  // --- entries of outbox kinds (dedup by id ranges)
  {
    id: "entries.id-seen-again",
    file: "collector/sinks/duckdb/entries.ts",
    edits: one("if (uncovered(covered, entry.id, entry.id + 1).length === 0) continue", ""),
    bug: "an entry republished after an agent restart is stored twice",
    critical: true,
    tests: ["collector/sinks/duckdb/entries.test.ts", "collector/ingest/urls-ingest.int.test.ts"],
  },
  {
    id: "entries.gap-twice",
    file: "collector/sinks/duckdb/entries.ts",
    edits: one("        added.push(part)\n", ""),
    bug: "a drop report shipped twice is recorded as two gaps (lost entries counted double)",
    critical: false,
    tests: ["collector/sinks/duckdb/entries.test.ts"],
  },
  // --- staging parts against coverage
  {
    id: "parts.line-part-coverage-ignored",
    file: "collector/sinks/duckdb/log-parts.ts",
    edits: one("if (part.o >= stagedEnd && !isCovered(covered, part.o)) {", "if (part.o >= stagedEnd) {"),
    bug: "a single-line part already stored is stored again",
    critical: true,
    tests: WRITER,
  },
  {
    id: "parts.line-part-staged-twice",
    file: "collector/sinks/duckdb/log-parts.ts",
    edits: one(
      "if (part.o >= stagedEnd && !isCovered(covered, part.o)) {",
      "if (!isCovered(covered, part.o)) {",
    ),
    bug: "the same single-line part twice in one envelope is stored twice",
    critical: true,
    tests: WRITER,
  },
  {
    id: "parts.raw-overlap-within-envelope",
    file: "collector/sinks/duckdb/log-parts.ts",
    edits: one(
      "uncovered(covered, Math.max(part.o, stagedEnd), part.o + part.n)",
      "uncovered(covered, part.o, part.o + part.n)",
    ),
    bug: "overlapping raw parts of one envelope store their common lines twice",
    critical: true,
    tests: WRITER,
  },
  {
    id: "parts.line-start-off-by-one",
    file: "collector/sinks/duckdb/log-parts.ts",
    edits: one("if (bytes[i - 1] === NL) return i", "if (bytes[i] === NL) return i"),
    bug: "a raw block partly stored is split at the wrong line",
    critical: true,
    tests: WRITER,
  },
  {
    id: "parts.empty-last-line",
    file: "collector/sinks/duckdb/log-parts.ts",
    edits: one(
      "const body = block[block.length - 1] === NL ? block.subarray(0, block.length - 1) : block",
      "const body = block",
    ),
    bug: "every raw block gains an empty last line",
    critical: false,
    tests: WRITER,
  },
  {
    id: "parts.invalid-utf8-offsets",
    file: "collector/sinks/duckdb/log-parts.ts",
    edits: one("      offset: offset + start,\n", "      offset,\n"),
    bug: "lines of a block with invalid UTF-8 all get the block's offset",
    critical: false,
    tests: WRITER,
  },
  // --- the DuckDB writer
  {
    id: "writer.commit-on-failure",
    file: "collector/sinks/duckdb/writer.ts",
    edits: one(
      'await this.conn.run("ROLLBACK").catch(() => {})\n      throw error\n    }\n    for (const id',
      'await this.conn.run("COMMIT").catch(() => {})\n      throw error\n    }\n    for (const id',
    ),
    bug: "a failed batch commits what it wrote so far",
    critical: true,
    tests: [...WRITER, ...INGEST],
  },
  {
    id: "writer.ids-not-remembered",
    file: "collector/sinks/duckdb/writer.ts",
    edits: one(
      "    for (const e of batch.accepted) this.seen.set(",
      "    for (const e of batch.accepted.slice(0, 0)) this.seen.set(",
    ),
    bug: "committed envelope ids are not remembered until restart",
    critical: true,
    tests: [...WRITER, "collector/ingest/ingest.int.test.ts"],
  },
  {
    id: "writer.ids-not-loaded",
    file: "collector/sinks/duckdb/writer.ts",
    edits: one(
      "for (const [agent, seq, streamSeq] of envelopes.getRows()) {",
      "for (const [agent, seq, streamSeq] of envelopes.getRows().slice(0, 0)) {",
    ),
    bug: "committed envelope ids are forgotten at restart",
    critical: true,
    tests: [...WRITER, "test/e2e/collector-crash.int.test.ts"],
  },
  {
    id: "writer.ids-dropped-early",
    file: "collector/sinks/duckdb/writer.ts",
    edits: one("this.seenBefore = this.seen\n", "this.seenBefore = new Map()\n"),
    bug: "envelope ids are forgotten at the first rotation of the id generations, not after two",
    critical: true,
    tests: WRITER,
  },
  {
    id: "writer.coverage-cache-stale",
    file: "collector/sinks/duckdb/writer.ts",
    edits: one("    for (const id of touched) this.files.set(id, coverage.get(id) ?? [])\n", ""),
    bug: "the in-memory coverage is not updated after a commit",
    critical: true,
    tests: WRITER,
  },
  {
    id: "writer.coverage-not-stored",
    file: "collector/sinks/duckdb/writer.ts",
    edits: one("if (touched.size > 0) {", "if (touched.size > 0 && false) {"),
    bug: "coverage is not written to log_coverage (dedup is lost at restart)",
    critical: true,
    tests: [...WRITER, "test/e2e/collector-crash.int.test.ts"],
  },
  // --- processing a batch: settle only after commit
  {
    id: "batch.ack-before-commit",
    file: "collector/ingest/process-batch.ts",
    edits: [
      {
        find: "  let result: WriteResult\n  let receivedAt: number\n  for (;;) {",
        replace:
          "  await settle(c, batch, verdicts, plan)\n  let result: WriteResult\n  let receivedAt: number\n  for (;;) {",
      },
      { find: "  await settle(c, batch, verdicts, plan)\n  let records = 0", replace: "  let records = 0" },
    ],
    bug: "messages are acked before their DuckDB transaction commits",
    critical: true,
    tests: INGEST,
  },
  {
    id: "batch.unwritable-acked",
    file: "collector/ingest/process-batch.ts",
    edits: one("    d.retry(2000)\n    return", "    d.ack()\n    return"),
    bug: "a message whose write failed is acked instead of redelivered",
    critical: true,
    tests: INGEST,
  },
  {
    id: "batch.reject-nakd",
    file: "collector/ingest/process-batch.ts",
    edits: one(
      "      d.term()\n      c.metrics.envelopesRejected",
      "      d.retry(0)\n      c.metrics.envelopesRejected",
    ),
    bug: "a rejected message is nak'd, so it is redelivered and recorded again and again",
    critical: true,
    tests: INGEST,
  },
  {
    id: "batch.duplicate-unsettled",
    file: "collector/ingest/process-batch.ts",
    edits: one(
      '} else if (v.type === "duplicate") plan.push("ack")',
      '} else if (v.type === "duplicate") plan.push("none")',
    ),
    bug: "a duplicate is never acked and stays pending",
    critical: true,
    tests: INGEST,
  },
  {
    id: "batch.storage-down-is-per-message",
    file: "collector/ingest/process-batch.ts",
    edits: one("if (await c.storage.failed(error, () => c.writer.probe())) {", "if (false) {"),
    bug: "while DuckDB cannot write at all, messages are given up one by one instead of kept",
    critical: true,
    tests: INGEST,
  },
  {
    id: "batch.no-split",
    file: "collector/ingest/process-batch.ts",
    edits: one("if (batch.length > 1) {", "if (false) {"),
    bug: "one unwritable message holds back (and finally gives up) its whole batch",
    critical: true,
    tests: INGEST,
  },
  {
    id: "batch.replay-recorded-again",
    file: "collector/ingest/process-batch.ts",
    edits: one('if (d.source === "stream") rejected.push(', "if (true) rejected.push("),
    bug: "every quarantine replay records the rejection again",
    critical: false,
    tests: ["collector/ingest/quarantine.int.test.ts"],
  },
  {
    id: "delivery.no-keepalive",
    file: "collector/ingest/delivery.ts",
    edits: one("for (const m of this.held) m.working()", "for (const m of this.held) void m"),
    bug: "held messages are not kept alive, so a slow batch is redelivered",
    critical: false,
    tests: INGEST,
  },
  // --- agent: tailer
  {
    id: "tailer.cap-off-by-one",
    file: "agent/sources/logs/tailer.ts",
    edits: one("if (nl - start > cap) {", "if (nl - start >= cap) {"),
    bug: "a line of exactly max_line_bytes is truncated",
    critical: false,
    tests: TAILER,
  },
  {
    id: "tailer.match-cap-off-by-one",
    file: "agent/sources/logs/tailer.ts",
    edits: one("const long = m.end - m.start > cap", "const long = m.end - m.start >= cap"),
    bug: "a matched line of exactly max_line_bytes is truncated",
    critical: false,
    tests: TAILER,
  },
  {
    id: "tailer.final-before-eof",
    file: "agent/sources/logs/tailer.ts",
    edits: one("final && buf.length === available", "final"),
    bug: "a chunk that does not reach the end of the file treats its last partial line as final",
    critical: false,
    tests: TAILER,
  },
  {
    id: "tailer.partial-line-shipped",
    file: "agent/sources/logs/tailer.ts",
    edits: one(
      "(rest > options.maxLineBytes || (rest > 0 && atEnd))",
      "(rest > options.maxLineBytes || rest > 0)",
    ),
    bug: "a line still being written is shipped before its newline",
    critical: false,
    tests: TAILER,
  },
  {
    id: "tailer.long-line-rest-shipped",
    file: "agent/sources/logs/tailer.ts",
    edits: one("state.skipping = rest > options.maxLineBytes && !atEnd", "state.skipping = false"),
    bug: "the rest of a truncated over-long line is shipped as lines of its own",
    critical: false,
    tests: TAILER,
  },
  {
    id: "tailer.matches-past-bound-lost",
    file: "agent/sources/logs/tailer.ts",
    edits: one("end = Math.min(to, (matches.at(-1) as { end: number }).end + 1)", "end = to"),
    bug: "matches past MAX_MATCHES_PER_READ in one read are skipped",
    critical: true,
    tests: TAILER,
  },
  {
    id: "tailer.block-keeps-newline",
    file: "agent/sources/logs/tailer.ts",
    edits: one("      block = nl + 1\n", "      block = nl\n"),
    bug: "after an over-long line the next block starts with its newline",
    critical: false,
    tests: TAILER,
  },
  // --- agent: generations, rotation, restart
  {
    id: "generation.done-with-unacked",
    file: "agent/sources/logs/generation.ts",
    edits: one(
      "cp.commit(g.ref.gen, g.acked, g.size, g.finished && g.acked >= g.emitted)",
      "cp.commit(g.ref.gen, g.acked, g.size, g.finished)",
    ),
    bug: "a generation is marked done at an ack while later chunks are unacknowledged",
    critical: true,
    tests: TRACKER,
  },
  {
    id: "generation.finished-done-at-once",
    file: "agent/sources/logs/generation.ts",
    edits: one(
      "if (g.acked >= g.emitted) cp.commit(g.ref.gen, g.acked, g.size, true)",
      "cp.commit(g.ref.gen, g.acked, g.size, true)",
    ),
    bug: "a generation read to its end is done before its chunks are acknowledged",
    critical: true,
    tests: TRACKER,
  },
  {
    id: "generation.resume-inside-long-line",
    file: "agent/sources/logs/generation.ts",
    edits: one(
      "const skipping = resumed && position > 0 && readAt(file.fd, position - 1, 1)[0] !== 10",
      "const skipping = false",
    ),
    bug: "after a restart the rest of a truncated long line is shipped as a line",
    critical: false,
    tests: TRACKER,
  },
  {
    id: "tracker.truncation-unseen",
    file: "agent/sources/logs/tracker.ts",
    edits: one("    if (size < g.tail.position) return true\n", ""),
    bug: "a file truncated below the read position is not seen as truncated unless its head changed",
    critical: false,
    tests: TRACKER,
  },
  {
    id: "tracker.drain-without-wait",
    file: "agent/sources/logs/tracker.ts",
    edits: one(
      'const final = g.status === "draining" && at - g.changedAt >= config.rotate_wait_ms',
      'const final = g.status === "draining"',
    ),
    bug: "a renamed file is closed at once, losing lines written to it just after the rename",
    critical: false,
    tests: TRACKER,
  },
  {
    id: "tracker.rename-unseen",
    file: "agent/sources/logs/tracker.ts",
    edits: one("if (!current || !sameFile(current, g.file)) {", "if (!current) {"),
    bug: "a file renamed away is not noticed, so the new file at the path is never read",
    critical: false,
    tests: TRACKER,
  },
  {
    id: "admission.renamed-live-file-read-again",
    file: "agent/sources/logs/admission.ts",
    edits: one("live.some((g) => g.ref.path !== f.path && sameFile(g.file, f.stat)) ||", ""),
    bug: "a file renamed within a wide glob is read again under its new name",
    critical: true,
    tests: TRACKER,
  },
  {
    id: "admission.renamed-done-file-read-again",
    file: "agent/sources/logs/admission.ts",
    edits: one("cp.fingerprintsOf(f.stat, f.path).some(", "[].some("),
    bug: "after a restart a rotated file within a wide glob is read again",
    critical: true,
    tests: TRACKER,
  },
  {
    id: "restore.from-start",
    file: "agent/sources/logs/restore.ts",
    edits: one(
      "newGeneration(row.gen, row.path, file, fp, row.position, status, at, true)",
      "newGeneration(row.gen, row.path, file, fp, 0, status, at, true)",
    ),
    bug: "after a restart files are read from their start",
    critical: true,
    tests: TRACKER,
  },
  // --- agent: transport
  {
    id: "transport.acks-in-completion-order",
    file: "agent/transport/logs-transport.ts",
    edits: [
      {
        find: "const head = this.inFlight[0] as InFlight\n      if (!head.settled) break",
        replace:
          "const head = (this.inFlight.find((e) => e.settled) ?? this.inFlight[0]) as InFlight\n      if (!head.settled) break",
      },
      {
        find: "      this.inFlight.shift()\n",
        replace: "      this.inFlight.splice(this.inFlight.indexOf(head), 1)\n",
      },
    ],
    bug: "chunks are acked in publish-completion order, not emit order",
    critical: true,
    tests: TRANSPORT,
  },
  {
    id: "transport.ack-before-publish",
    file: "agent/transport/logs-transport.ts",
    edits: one(
      "    publishWithRetry(envelope, {",
      "    for (const chunk of chunks) chunk.ack()\n    publishWithRetry(envelope, {",
    ),
    bug: "chunks are acked when their envelope is sent, before JetStream acknowledged it",
    critical: true,
    tests: TRANSPORT,
  },
  {
    id: "transport.abandoned-acked",
    file: "agent/transport/logs-transport.ts",
    edits: one("      if (!head.ok) {", "      if (false) {"),
    bug: "an envelope given up at shutdown has its chunks acked",
    critical: true,
    tests: TRANSPORT,
  },
  {
    id: "transport.window-unbounded",
    file: "agent/transport/logs-transport.ts",
    edits: one("while (this.inFlight.length >= max_in_flight) await this.wakeSignal", "void max_in_flight"),
    bug: "max_in_flight is not enforced",
    critical: false,
    tests: TRANSPORT,
  },
  {
    id: "transport.records-unbounded",
    file: "agent/transport/logs-transport.ts",
    edits: one("records + next.lines > maxRecords ||", ""),
    bug: "max_records is not enforced",
    critical: false,
    tests: TRANSPORT,
  },
  {
    id: "publisher.no-retry",
    file: "agent/transport/publisher.ts",
    edits: one("if (options.signal.aborted) throw error", "throw error"),
    bug: "a failed publish is not retried",
    critical: false,
    tests: TRANSPORT,
  },
]
