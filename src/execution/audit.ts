/**
 * The audit log's head in the state root (issue 15, "Tamper-evident audit log"). Every governance
 * action, parameter change and automatic response the engine takes is appended, in event order, to
 * a SHA-256 hash chain whose head (next sequence, last hash) is committed under
 * `palisade/state/audit-head`; two validators with equal roots therefore hold equal logs, and a
 * log someone shows later is checked against a certified root.
 *
 * The byte layout is src/monitor/audit-log.ts's (execution may not import the monitor, so the tiny
 * chain step is written again here, and test/execution-audit.test.ts checks the two agree):
 *
 *   hash = SHA-256( u8 len(tag) ‖ tag ‖ u64 chainId ‖ body ‖ previousHash )
 *   tag  = "PALISADE/MONITOR/AUDIT/v1"
 *   body = u64 sequence ‖ u64 height ‖ u64 timeMs ‖ str kind ‖ str action
 *          ‖ u16 count ‖ (str key ‖ str value) × count, keys in ascending byte order
 *   str  = u32 byte length ‖ UTF-8 bytes
 *
 * A record is an event: `action` its type, `details` its other fields as decimal strings (bigints
 * and numbers) or `true`/`false`, `kind` from `AUDITED_EVENTS`. The first entry links to zeros.
 */
import { sha256 } from '../crypto/hash.ts';
import type { EngineEvent } from './types.ts';

export const AUDIT_TAG = 'PALISADE/MONITOR/AUDIT/v1';

/** Which events the log keeps, and as what kind. */
export const AUDITED_EVENTS: Readonly<
  Partial<Record<EngineEvent['type'], 'governance' | 'parameter' | 'response'>>
> = Object.freeze({
  seriesListed: 'governance',
  markVolSet: 'governance',
  governanceQueued: 'governance',
  governanceExecuted: 'governance',
  governanceFailed: 'governance',
  governanceHalt: 'governance',
  governanceResume: 'governance',
  proposalCancelled: 'governance',
  governanceChanged: 'governance',
  parameterSet: 'governance',
  validatorChangeScheduled: 'governance',
  validatorSetChanged: 'governance',
  parametersAdjusted: 'parameter',
  circuitBreakerHalt: 'response',
  callAuction: 'response',
  circuitBreakerReopen: 'response',
  oracleGuardPause: 'response',
  oracleGuardResume: 'response',
  liquidationGrace: 'response',
  withdrawalsThrottled: 'response',
  withdrawalsRestored: 'response',
});

export interface EngineAuditRecord {
  height: number;
  timeMs: number;
  kind: 'governance' | 'parameter' | 'response';
  action: string;
  details: Record<string, string>;
}

export interface EngineAuditHead {
  /** The next entry's sequence (entries so far). */
  sequence: number;
  /** The last entry's hash (32 zero bytes before the first). */
  hash: Uint8Array;
}

/** The record an event makes, or undefined for events the log does not keep. */
export function auditRecordOf(
  event: EngineEvent,
  height: number,
  timeMs: number,
): EngineAuditRecord | undefined {
  const kind = AUDITED_EVENTS[event.type];
  if (kind === undefined) return undefined;
  const details: Record<string, string> = {};
  for (const [key, value] of Object.entries(event)) if (key !== 'type') details[key] = String(value);
  return { height, timeMs, kind, action: event.type, details };
}

const encoder = new TextEncoder();
const TAG = encoder.encode(AUDIT_TAG);

function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), false);
  return out;
}

function str(value: string): Uint8Array[] {
  const bytes = encoder.encode(value);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, bytes.length, false);
  return [length, bytes];
}

function compareBytes(a: string, b: string): number {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  for (let i = 0; i < Math.min(left.length, right.length); i++)
    if (left[i] !== right[i]) return left[i]! - right[i]!;
  return left.length - right.length;
}

/** The hash of `record` as entry `sequence` after `previous` (the header's layout). */
export function auditEntryHash(
  chainId: number,
  sequence: number,
  record: EngineAuditRecord,
  previous: Uint8Array,
): Uint8Array {
  const keys = Object.keys(record.details).sort(compareBytes);
  const count = new Uint8Array(2);
  new DataView(count.buffer).setUint16(0, keys.length, false);
  return sha256(
    Uint8Array.of(TAG.length),
    TAG,
    u64(chainId),
    u64(sequence),
    u64(record.height),
    u64(record.timeMs),
    ...str(record.kind),
    ...str(record.action),
    count,
    ...keys.flatMap((key) => [...str(key), ...str(record.details[key]!)]),
    previous,
  );
}

/** Appends the block's audited events to the head, in order; returns how many were appended. */
export function appendAudit(
  head: EngineAuditHead,
  chainId: number,
  events: readonly EngineEvent[],
  height: number,
  timeMs: number,
): number {
  let appended = 0;
  for (const event of events) {
    const record = auditRecordOf(event, height, timeMs);
    if (record === undefined) continue;
    head.hash = auditEntryHash(chainId, head.sequence, record, head.hash);
    head.sequence += 1;
    appended++;
  }
  return appended;
}
