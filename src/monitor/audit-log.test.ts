/**
 * The audit log against the tampering it exists to reveal: an edited entry, a removed one, two
 * swapped, one inserted (with correct hashes of its own), a truncated tail, another chain's log.
 * The entry layout is checked against an independent encoding (node:crypto and Buffer) of the
 * header's definition, and one hash is pinned so a format change is a deliberate decision.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  AUDIT_GENESIS_HASH,
  type AuditEntry,
  auditEntryHash,
  auditRecordOfFinding,
  createAuditLog,
  verifyAuditChain,
} from './audit-log.ts';
import { createFinding } from './finding.ts';

const chainId = 7;

function filled(count: number) {
  const log = createAuditLog({ chainId });
  for (let i = 0; i < count; i++)
    log.append({
      height: 10 + i,
      timeMs: 1_700_000_000_000 + i,
      kind: i % 2 === 0 ? 'parameter' : 'governance',
      action: i % 2 === 0 ? 'markVolSet' : 'seriesListed',
      details: { seriesId: String(i), volBps: String(5_000 + i) },
    });
  return log;
}

/** The header's layout, written again from its definition with Buffer and node:crypto. */
function independentHash(entry: AuditEntry): string {
  const u64 = (value: number) => {
    const out = Buffer.alloc(8);
    out.writeBigUInt64BE(BigInt(value));
    return out;
  };
  const str = (value: string) => {
    const bytes = Buffer.from(value, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const tag = Buffer.from('PALISADE/MONITOR/AUDIT/v1', 'ascii');
  const keys = Object.keys(entry.details).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const count = Buffer.alloc(2);
  count.writeUInt16BE(keys.length);
  const body = Buffer.concat([
    Buffer.from([tag.length]),
    tag,
    u64(chainId),
    u64(entry.sequence),
    u64(entry.height),
    u64(entry.timeMs),
    str(entry.kind),
    str(entry.action),
    count,
    ...keys.flatMap((key) => [str(key), str(entry.details[key]!)]),
    Buffer.from(entry.previousHash.slice(2), 'hex'),
  ]);
  return `0x${createHash('sha256').update(body).digest('hex')}`;
}

describe('audit log', () => {
  test('each entry hash follows the documented layout, and links to the previous one', () => {
    const entries = filled(5).entries();
    assert.equal(entries[0]!.previousHash, AUDIT_GENESIS_HASH);
    for (const [i, entry] of entries.entries()) {
      assert.equal(entry.hash, independentHash(entry));
      if (i > 0) assert.equal(entry.previousHash, entries[i - 1]!.hash);
    }
  });

  test('a pinned hash: the format only changes on purpose', () => {
    const hash = auditEntryHash(
      1,
      0,
      { height: 1, timeMs: 0, kind: 'governance', action: 'seriesListed', details: { seriesId: '1' } },
      AUDIT_GENESIS_HASH,
    );
    assert.equal(hash, '0x925634137c87737861bd0ee44f449e92396163e2376e395bc63ced3863ef9f92');
  });

  test('an intact log verifies against its head', () => {
    const log = filled(6);
    assert.deepEqual(verifyAuditChain(log.entries(), { chainId, head: log.head() }), {
      status: 'valid',
      head: log.head(),
    });
  });

  test('tampering is detected at the entry it touches', () => {
    const log = filled(6);
    const entries = log.entries();
    const head = log.head();
    const check = (tampered: AuditEntry[]) => verifyAuditChain(tampered, { chainId, head });

    const edited = entries.map((entry, i) =>
      i === 2 ? { ...entry, details: { ...entry.details, volBps: '99999' } } : entry,
    );
    assert.deepEqual(check(edited), { status: 'invalid', index: 2, code: 'BAD_HASH' });

    const removed = entries.filter((_, i) => i !== 3);
    assert.deepEqual(check(removed), { status: 'invalid', index: 3, code: 'BAD_SEQUENCE' });

    const swapped = [...entries];
    [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
    assert.deepEqual(check(swapped), { status: 'invalid', index: 1, code: 'BAD_SEQUENCE' });

    // A forger who rewrites everything after the edit with correct hashes is caught by the head.
    const forged = createAuditLog({ chainId });
    for (const entry of entries) forged.append(entry.sequence === 4 ? { ...entry, action: 'noop' } : entry);
    assert.equal(verifyAuditChain(forged.entries(), { chainId }).status, 'valid', 'self-consistent');
    assert.deepEqual(check(forged.entries()), { status: 'invalid', index: 6, code: 'HEAD_MISMATCH' });

    assert.deepEqual(check(entries.slice(0, 5)), { status: 'invalid', index: 5, code: 'HEAD_MISMATCH' });

    const relinked = entries.map((entry, i) =>
      i === 1 ? { ...entry, previousHash: AUDIT_GENESIS_HASH } : entry,
    );
    assert.deepEqual(check(relinked), { status: 'invalid', index: 1, code: 'BAD_LINK' });

    assert.deepEqual(verifyAuditChain(entries, { chainId: chainId + 1 }), {
      status: 'invalid',
      index: 0,
      code: 'BAD_HASH',
    });
    assert.deepEqual(check([...entries.slice(0, 2), null as never]), {
      status: 'invalid',
      index: 2,
      code: 'MALFORMED',
    });
  });

  test('retention keeps the latest entries; the rest verifies from a checkpoint', () => {
    const log = createAuditLog({ chainId, retain: 3 });
    let checkpoint = log.head();
    for (let i = 0; i < 10; i++) {
      if (i === 7) checkpoint = log.head();
      log.append({
        height: i,
        timeMs: i,
        kind: 'response',
        action: 'breakerHalt',
        details: { underlyingId: '1' },
      });
    }
    const held = log.entries();
    assert.deepEqual(
      held.map((entry) => entry.sequence),
      [7, 8, 9],
    );
    assert.equal(verifyAuditChain(held, { chainId, start: checkpoint, head: log.head() }).status, 'valid');
    assert.equal(verifyAuditChain(held, { chainId, head: log.head() }).status, 'invalid', 'not from genesis');
  });

  test('bad records are typed errors and leave the log unchanged', () => {
    const log = filled(2);
    const head = log.head();
    const base = { height: 20, timeMs: 0, kind: 'governance', action: 'x', details: {} } as const;
    assert.throws(() => log.append({ ...base, action: 'has space' }), {
      code: 'INVALID_FINDING',
      field: 'action',
    });
    assert.throws(() => log.append({ ...base, kind: 'other' as never }), { field: 'kind' });
    assert.throws(() => log.append({ ...base, details: { note: 'x'.repeat(513) } }), {
      field: 'details/note',
    });
    assert.throws(() => log.append({ ...base, height: 1 }), { field: 'height' });
    assert.deepEqual(log.head(), head);
  });

  test('a Critical finding becomes an audit record', () => {
    const finding = createFinding({
      alertId: 'PALISADE-EQUIVOCATION',
      name: 'Validator equivocated',
      description: 'two votes',
      severity: 'Critical',
      type: 'Exploit',
      metadata: { validator: 3, view: 12 },
      addresses: ['validator:3'],
      height: 40,
      timeMs: 5,
    });
    const entry = createAuditLog({ chainId }).append(auditRecordOfFinding(finding));
    assert.equal(entry.action, 'PALISADE-EQUIVOCATION');
    assert.deepEqual(entry.details, {
      addresses: 'validator:3',
      id: finding.id,
      m_validator: '3',
      m_view: '12',
      severity: 'Critical',
      type: 'Exploit',
    });
  });
});
