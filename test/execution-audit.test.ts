/**
 * The engine's audit-log head (src/execution/audit.ts) against the monitor's audit log
 * (src/monitor/audit-log.ts): the same records give the same chain, byte for byte, so a log the
 * monitor serves verifies against the head the state root certifies; an edited record does not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuditHeadRecordCodec } from '../src/codec/snapshot.ts';
import { toHex } from '../src/crypto/bytes.ts';
import { ADAPTIVE_PARAMETER_DEFAULTS } from '../src/execution/adaptive-defaults.ts';
import { auditRecordOf } from '../src/execution/audit.ts';
import { createEngine, restoreEngine } from '../src/execution/engine.ts';
import { btcSeries, testGenesis, USDC } from '../src/execution/fixtures.ts';
import { MS_PER_DAY } from '../src/execution/margin.ts';
import { AUDIT_HEAD_STATE_KEY } from '../src/execution/records.ts';
import {
  AUDIT_GENESIS_HASH,
  type AuditEntry,
  auditEntryHash,
  verifyAuditChain,
} from '../src/monitor/audit-log.ts';

const START = Date.UTC(2026, 0, 1);

test('the engine appends its responses to a chain the monitor verifies, and the head is in the root', () => {
  const genesis = testGenesis({
    startTimeMs: START,
    series: [btcSeries(true, 60_000, START + 30 * MS_PER_DAY)],
    params: { ...ADAPTIVE_PARAMETER_DEFAULTS },
  });
  const engine = createEngine(genesis);
  assert.deepEqual(engine.auditHead(), { sequence: 0, hash: AUDIT_GENESIS_HASH });
  const entries: AuditEntry[] = [];
  const path = [...Array(40).fill(60_000), 56_000, ...Array(20).fill(56_000)];
  let snapshot: Uint8Array | undefined;
  for (const [i, spot] of path.entries()) {
    const result = engine.applyBlock({
      height: engine.height + 1,
      timeMs: engine.timeMs + 10_000,
      transactions: [],
      oracle: [{ underlyingId: 1, price: spot * USDC, confidence: 0, publishTimeMs: 0, stale: false }],
    });
    for (const event of result.events) {
      const record = auditRecordOf(event, engine.height, engine.timeMs);
      if (record === undefined) continue;
      const previousHash = entries.at(-1)?.hash ?? AUDIT_GENESIS_HASH;
      const hash = auditEntryHash(genesis.chainId, entries.length, record, previousHash);
      entries.push({ ...record, sequence: entries.length, previousHash, hash });
    }
    if (i === 45) snapshot = engine.snapshot();
  }
  const actions = entries.map((e) => e.action);
  assert.ok(
    actions.includes('circuitBreakerHalt') && actions.includes('circuitBreakerReopen'),
    actions.join(),
  );
  assert.ok(actions.includes('parametersAdjusted'));
  const head = engine.auditHead();
  assert.deepEqual(head, { sequence: entries.length, hash: entries.at(-1)!.hash });
  assert.equal(verifyAuditChain(entries, { chainId: genesis.chainId, head }).status, 'valid');
  // A rewritten halt (another price) no longer ends at the certified head.
  const halt = entries.findIndex((e) => e.action === 'circuitBreakerHalt');
  const forged = entries.map((e, i) => (i === halt ? { ...e, details: { ...e.details, price: '1' } } : e));
  assert.equal(verifyAuditChain(forged, { chainId: genesis.chainId, head }).status, 'invalid');
  // The head is a committed state value (provable against the root) and survives a snapshot.
  const committed = AuditHeadRecordCodec.decode(engine.stateValue(AUDIT_HEAD_STATE_KEY)!);
  assert.equal(committed.sequence, head.sequence);
  assert.equal(`0x${toHex(committed.hash)}`, head.hash);
  assert.ok(engine.prove(AUDIT_HEAD_STATE_KEY) !== undefined);
  const restored = restoreEngine(snapshot!, genesis);
  assert.ok(restored.auditHead().sequence > 0 && restored.auditHead().sequence < head.sequence);
});
