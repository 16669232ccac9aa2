/**
 * The entries of the engine's audit log as a node keeps them to serve (`GET /v1/audit-log`): the
 * engine commits only the head (src/execution/audit.ts); the node appends every finalized block's
 * audited events in the same order and layout, so the chain it serves ends at the committed head.
 * A node that started from a snapshot holds the entries after it: the first one served names the
 * hash it links to. Bounded: the oldest entries are dropped beyond `capacity`.
 */
import { AggregatePriceType, type AggregatePriceValue } from '../codec/oracle.ts';
import { toHex } from '../crypto/bytes.ts';
import { auditEntryHash, auditRecordOf } from '../execution/audit.ts';
import type { Engine } from '../execution/engine.ts';
import { AUDIT_HEAD_STATE_KEY } from '../execution/records.ts';
import type { EngineEvent } from '../execution/types.ts';
import { type AuditEntryJson, type AuditLogRead, fairPartsJson, stateProofToJson } from './view.ts';

export const AUDIT_TRAIL_CAPACITY = 100_000;

export interface AuditTrail {
  /** Appends a finalized block's audited events, starting from the engine's head before the block. */
  append(events: readonly EngineEvent[], height: number, timeMs: number): void;
  /** Entries from sequence `from`, at most `limit`. */
  entries(from: number, limit: number): AuditEntryJson[];
  /** The head after the last entry appended, 0x-hex. */
  head(): { sequence: number; hash: string };
  /** Forgets every entry and continues from `head` (the engine jumped: a snapshot was restored). */
  reset(head: { sequence: number; hash: Uint8Array }): void;
}

export function createAuditTrail(
  chainId: number,
  start: { sequence: number; hash: Uint8Array },
  capacity = AUDIT_TRAIL_CAPACITY,
): AuditTrail {
  const kept: AuditEntryJson[] = [];
  let sequence = start.sequence;
  let hash: Uint8Array = Uint8Array.from(start.hash);
  return {
    append(events, height, timeMs) {
      for (const event of events) {
        const record = auditRecordOf(event, height, timeMs);
        if (record === undefined) continue;
        const previousHash = `0x${toHex(hash)}`;
        hash = auditEntryHash(chainId, sequence, record, hash);
        kept.push({ ...record, sequence, previousHash, hash: `0x${toHex(hash)}` });
        sequence += 1;
      }
      if (kept.length > capacity) kept.splice(0, kept.length - capacity);
    },
    head: () => ({ sequence, hash: `0x${toHex(hash)}` }),
    reset(head) {
      kept.length = 0;
      sequence = head.sequence;
      hash = Uint8Array.from(head.hash);
    },
    entries(from, limit) {
      const first = kept[0]?.sequence ?? sequence;
      const start = Math.max(0, from - first);
      return kept.slice(start, start + limit);
    },
  };
}

/**
 * The served audit log: entries from the trail, the head and its proof from the engine, and the
 * opening of the node state root at the proof's height (the engine root and `prices`, the oracle
 * aggregates after that height), which the block at height + 16 commits.
 */
export function auditLogRead(
  engine: Pick<Engine, 'chainId' | 'height' | 'stateRoot' | 'stateValue' | 'prove' | 'auditHead'>,
  trail: AuditTrail,
  query: { from: number; limit: number },
  prices: Iterable<AggregatePriceValue>,
  /** The fair-ordering digests the node state root hashes now (src/chain/block-rule.ts). */
  fairParts: readonly Uint8Array[] = [],
): AuditLogRead {
  const value = engine.stateValue(AUDIT_HEAD_STATE_KEY);
  const sorted = [...prices].sort((a, b) => a.assetId - b.assetId);
  return {
    chainId: engine.chainId,
    entries: trail.entries(query.from, query.limit),
    head: engine.auditHead(),
    proof: {
      height: engine.height,
      stateRoot: `0x${toHex(engine.stateRoot())}`,
      key: `0x${toHex(AUDIT_HEAD_STATE_KEY)}`,
      value: value === undefined ? null : `0x${toHex(value)}`,
      proof: stateProofToJson(engine.prove(AUDIT_HEAD_STATE_KEY)),
    },
    opening: {
      engineStateRoot: `0x${toHex(engine.stateRoot())}`,
      prices: sorted.map((price) => `0x${toHex(AggregatePriceType.serialize(price))}`),
      ...fairPartsJson(fairParts),
    },
  };
}
