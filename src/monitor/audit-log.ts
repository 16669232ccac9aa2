/**
 * A tamper-evident audit log: every governance action, parameter change, automatic response and
 * Critical finding as an entry whose hash covers the previous entry's hash, so changing, removing,
 * reordering or inserting any entry changes every hash after it, and a verifier holding only the
 * latest head (sequence and hash) detects it. Pure: no clock, no I/O; time and height come in
 * with each record. Issue 15 puts the head in the state root; until then the head is what a node
 * reports and another node or an auditor compares.
 *
 * Entry hash (all integers big-endian):
 *
 *   hash = SHA-256( u8 len(tag) ‖ tag ‖ u64 chainId ‖ body ‖ previousHash )
 *   tag  = "PALISADE/MONITOR/AUDIT/v1"
 *   body = u64 sequence ‖ u64 height ‖ u64 timeMs ‖ str kind ‖ str action
 *          ‖ u16 count ‖ (str key ‖ str value) × count, keys in ascending byte order
 *   str  = u32 byte length ‖ UTF-8 bytes
 *
 * The first entry (sequence 0) links to 32 zero bytes. The tag and chain id keep a log of one
 * chain from verifying as another's, in the same layout as src/crypto/domain.ts.
 */
import { fromHex, toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { type Finding, MonitorError } from './finding.ts';

export const AUDIT_TAG = 'PALISADE/MONITOR/AUDIT/v1';
export const AUDIT_KINDS = Object.freeze(['governance', 'parameter', 'response', 'finding'] as const);
export type AuditKind = (typeof AUDIT_KINDS)[number];

export const AUDIT_ACTION_LENGTH_MAX = 64;
export const AUDIT_DETAILS_MAX = 32;
export const AUDIT_VALUE_LENGTH_MAX = 512;
/** 0x + 64 lower-case hex: the hash a chain starts from. */
export const AUDIT_GENESIS_HASH = `0x${'00'.repeat(32)}`;

export interface AuditRecord {
  height: number;
  timeMs: number;
  kind: AuditKind;
  /** What happened, e.g. `markVolSet`, `PALISADE-EQUIVOCATION`, `breakerHalt`. */
  action: string;
  details: Readonly<Record<string, string>>;
}

export interface AuditEntry extends AuditRecord {
  sequence: number;
  /** 0x-hex hash of the previous entry (AUDIT_GENESIS_HASH for the first). */
  previousHash: string;
  hash: string;
}

/** Where a chain stands: the next sequence number and the hash of the last entry. */
export interface AuditHead {
  sequence: number;
  hash: string;
}

export type AuditVerification =
  | { status: 'valid'; head: AuditHead }
  | {
      status: 'invalid';
      /** Position in the list given of the first entry that does not verify (the list length for a head mismatch). */
      index: number;
      code: 'BAD_SEQUENCE' | 'BAD_LINK' | 'BAD_HASH' | 'HEIGHT_DECREASED' | 'MALFORMED' | 'HEAD_MISMATCH';
    };

const textEncoder = new TextEncoder();
const TAG_BYTES = textEncoder.encode(AUDIT_TAG);

function compareBytes(a: string, b: string): number {
  // Keys are compared as UTF-8 bytes so that every implementation sorts them the same way.
  const left = textEncoder.encode(a);
  const right = textEncoder.encode(b);
  for (let i = 0; i < Math.min(left.length, right.length); i++)
    if (left[i] !== right[i]) return left[i]! - right[i]!;
  return left.length - right.length;
}

/** The problem with a record, or undefined when it is well-formed. */
function recordProblem(record: AuditRecord): { field: string; detail: string } | undefined {
  const integer = (value: unknown) => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  if (!integer(record.height)) return { field: 'height', detail: 'must be a non-negative integer' };
  if (!integer(record.timeMs)) return { field: 'timeMs', detail: 'must be a non-negative integer' };
  if (!AUDIT_KINDS.includes(record.kind)) return { field: 'kind', detail: 'is not an audit kind' };
  if (typeof record.action !== 'string' || !/^[A-Za-z][A-Za-z0-9_.-]*$/.test(record.action))
    return { field: 'action', detail: 'must be a word of letters, digits, _ . -' };
  if (record.action.length > AUDIT_ACTION_LENGTH_MAX)
    return { field: 'action', detail: `is over ${AUDIT_ACTION_LENGTH_MAX} characters` };
  if (typeof record.details !== 'object' || record.details === null)
    return { field: 'details', detail: 'must be an object' };
  const entries = Object.entries(record.details);
  if (entries.length > AUDIT_DETAILS_MAX)
    return { field: 'details', detail: `has over ${AUDIT_DETAILS_MAX} entries` };
  for (const [key, value] of entries) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(key))
      return { field: `details/${key.slice(0, 40)}`, detail: 'is not a key' };
    if (typeof value !== 'string' || value.length > AUDIT_VALUE_LENGTH_MAX)
      return {
        field: `details/${key}`,
        detail: `must be a string of at most ${AUDIT_VALUE_LENGTH_MAX} characters`,
      };
  }
  return undefined;
}

function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), false);
  return out;
}

function str(value: string): Uint8Array[] {
  const bytes = textEncoder.encode(value);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, bytes.length, false);
  return [length, bytes];
}

/**
 * The hash of the entry `record` at `sequence` after `previousHash` (see the header).
 * @throws MonitorError (INVALID_FINDING) when the record or the previous hash is malformed
 */
export function auditEntryHash(
  chainId: number,
  sequence: number,
  record: AuditRecord,
  previousHash: string,
): string {
  if (!Number.isSafeInteger(chainId) || chainId < 0)
    throw new MonitorError('INVALID_FINDING', 'chainId', 'must be a non-negative integer');
  if (!Number.isSafeInteger(sequence) || sequence < 0)
    throw new MonitorError('INVALID_FINDING', 'sequence', 'must be a non-negative integer');
  const problem = recordProblem(record);
  if (problem !== undefined) throw new MonitorError('INVALID_FINDING', problem.field, problem.detail);
  const previous = /^0x[0-9a-f]{64}$/.test(previousHash) ? fromHex(previousHash) : undefined;
  if (previous === undefined)
    throw new MonitorError('INVALID_FINDING', 'previousHash', 'must be 0x + 64 lower-case hex');
  const keys = Object.keys(record.details).sort(compareBytes);
  const count = new Uint8Array(2);
  new DataView(count.buffer).setUint16(0, keys.length, false);
  const parts: Uint8Array[] = [
    Uint8Array.of(TAG_BYTES.length),
    TAG_BYTES,
    u64(chainId),
    u64(sequence),
    u64(record.height),
    u64(record.timeMs),
    ...str(record.kind),
    ...str(record.action),
    count,
    ...keys.flatMap((key) => [...str(key), ...str(record.details[key]!)]),
    previous,
  ];
  return `0x${toHex(sha256(...parts))}`;
}

/**
 * Checks that `entries` form one chain from `start` (genesis by default) and, when given, that it
 * ends at `head`. Never throws: malformed input is an `invalid` result.
 * @example verifyAuditChain(entries, { chainId: 1, head: reportedHead }).status === 'valid'
 */
export function verifyAuditChain(
  entries: readonly AuditEntry[],
  options: { chainId: number; start?: AuditHead; head?: AuditHead },
): AuditVerification {
  let expected: AuditHead = options.start ?? { sequence: 0, hash: AUDIT_GENESIS_HASH };
  let lastHeight = -1;
  for (const [index, entry] of entries.entries()) {
    if (typeof entry !== 'object' || entry === null) return { status: 'invalid', index, code: 'MALFORMED' };
    if (entry.sequence !== expected.sequence) return { status: 'invalid', index, code: 'BAD_SEQUENCE' };
    if (entry.previousHash !== expected.hash) return { status: 'invalid', index, code: 'BAD_LINK' };
    if (recordProblem(entry) !== undefined) return { status: 'invalid', index, code: 'MALFORMED' };
    if (entry.height < lastHeight) return { status: 'invalid', index, code: 'HEIGHT_DECREASED' };
    let hash: string;
    try {
      hash = auditEntryHash(options.chainId, entry.sequence, entry, entry.previousHash);
    } catch {
      return { status: 'invalid', index, code: 'MALFORMED' };
    }
    if (hash !== entry.hash) return { status: 'invalid', index, code: 'BAD_HASH' };
    lastHeight = entry.height;
    expected = { sequence: entry.sequence + 1, hash };
  }
  if (
    options.head !== undefined &&
    (options.head.sequence !== expected.sequence || options.head.hash !== expected.hash)
  )
    return { status: 'invalid', index: entries.length, code: 'HEAD_MISMATCH' };
  return { status: 'valid', head: expected };
}

export interface AuditLog {
  /**
   * Appends a record and returns its entry.
   * @throws MonitorError when the record is malformed or its height is below the last entry's
   */
  append(record: AuditRecord): AuditEntry;
  head(): AuditHead;
  /** The entries still held (the latest `retain`), oldest first, from `fromSequence` on. */
  entries(fromSequence?: number): AuditEntry[];
}

/**
 * @example const log = createAuditLog({ chainId: 1 }); log.append({ height: 9, timeMs, kind: 'parameter', action: 'markVolSet', details: { seriesId: '3' } });
 * @throws MonitorError (INVALID_CONFIG) for a bad chain id, retention or starting head
 */
export function createAuditLog(options: { chainId: number; retain?: number; start?: AuditHead }): AuditLog {
  const { chainId } = options;
  const retain = options.retain ?? 10_000;
  if (!Number.isSafeInteger(chainId) || chainId < 0)
    throw new MonitorError('INVALID_CONFIG', 'chainId', 'must be a non-negative integer');
  if (!Number.isSafeInteger(retain) || retain < 1)
    throw new MonitorError('INVALID_CONFIG', 'retain', 'must be a positive integer');
  let head: AuditHead = options.start ?? { sequence: 0, hash: AUDIT_GENESIS_HASH };
  if (!Number.isSafeInteger(head.sequence) || head.sequence < 0 || !/^0x[0-9a-f]{64}$/.test(head.hash))
    throw new MonitorError('INVALID_CONFIG', 'start', 'must be a sequence and a 0x hash');
  let held: AuditEntry[] = [];
  let lastHeight = -1;
  return {
    append(record) {
      const hash = auditEntryHash(chainId, head.sequence, record, head.hash);
      if (record.height < lastHeight)
        throw new MonitorError('INVALID_FINDING', 'height', `is below the last entry's height ${lastHeight}`);
      const details: Record<string, string> = {};
      for (const key of Object.keys(record.details).sort(compareBytes)) details[key] = record.details[key]!;
      const entry: AuditEntry = Object.freeze({
        sequence: head.sequence,
        height: record.height,
        timeMs: record.timeMs,
        kind: record.kind,
        action: record.action,
        details: Object.freeze(details),
        previousHash: head.hash,
        hash,
      });
      held.push(entry);
      if (held.length > retain) held = held.slice(held.length - retain);
      lastHeight = record.height;
      head = { sequence: head.sequence + 1, hash };
      return entry;
    },
    head: () => ({ ...head }),
    entries: (fromSequence = 0) => held.filter((entry) => entry.sequence >= fromSequence),
  };
}

/** The audit record of a finding (what goes in the log for a Critical one). */
export function auditRecordOfFinding(finding: Finding): AuditRecord {
  const details: Record<string, string> = {
    id: finding.id,
    severity: finding.severity,
    type: finding.type,
    addresses: finding.addresses.join(',').slice(0, AUDIT_VALUE_LENGTH_MAX),
  };
  for (const [key, value] of Object.entries(finding.metadata)) {
    if (Object.keys(details).length >= AUDIT_DETAILS_MAX) break;
    details[`m_${key}`.slice(0, 40)] = value;
  }
  return {
    height: finding.height,
    timeMs: finding.timeMs,
    kind: 'finding',
    action: finding.alertId,
    details,
  };
}
