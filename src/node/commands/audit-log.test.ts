/**
 * `palisade audit-log --url … --verify` against the fixture node's API after governance actions
 * (a guardian halt, its lift by governors, a listing): the served chain verifies and ends at the
 * head the state root commits; a modified entry, a dropped entry, a head that does not match the
 * chain, a proof of another value and a root other than the trusted one each fail with a typed
 * `AuditLogError`. Against finality: a node serving a forged log that hashes all the way to its own
 * engine root is refused, because that root is not the one the genesis validators finalized.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SignedTransactionCodec } from '../../codec/transaction.ts';
import {
  actionTransaction,
  btcSeries,
  GOVERNANCE,
  GOVERNORS,
  GUARDIANS,
  governed,
  OPERATOR,
  testGovernance,
} from '../../execution/fixtures.ts';
import { MS_PER_DAY } from '../../execution/margin.ts';
import { createFixtureNode } from '../api/fixture-node.ts';
import { startApiServer } from '../api/server.ts';
import { UsageError } from '../args.ts';
import { buildGenesis, genesisToJson } from '../genesis.ts';
import { createLightClient, createLightClientDriver } from '../light-client.ts';
import type { AuditLogRead } from '../view.ts';
import { AuditLogError, fetchAuditLog, run, verifyAuditLog, verifyAuditLogCertified } from './audit-log.ts';

function refusedWith(code: string) {
  return (error: unknown) => error instanceof AuditLogError && error.code === code;
}

/** `run`'s exit code and what it printed (stdout and stderr, in order). */
async function captured(command: () => Promise<number>): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const { log, error } = console;
  console.log = (line: string) => out.push(line);
  console.error = (line: string) => out.push(line);
  try {
    return { code: await command(), out };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** A fixture node after governance actions; `halt: false` is a lying node's history without the halt. */
function governedNode(options: { halt: boolean }) {
  const node = createFixtureNode();
  node.finalizeBlock();
  const expiryMs = node.engine.timeMs + MS_PER_DAY;
  const actions = [
    ...(options.halt
      ? [
          governed(
            { kind: 'haltMarkets', value: { underlyingId: 1 } },
            { signers: GUARDIANS.slice(0, 2), expiryMs },
          ),
        ]
      : []),
    governed(
      { kind: 'listSeries', value: btcSeries(false, 45_000, node.engine.timeMs + 3 * MS_PER_DAY) },
      { signers: GOVERNORS.slice(2), expiryMs },
    ),
  ];
  for (const [nonce, action] of actions.entries()) {
    const bytes = SignedTransactionCodec.encode(actionTransaction(GOVERNANCE, nonce, action));
    assert.equal(node.mempool.admit(bytes, { height: node.engine.height + 1, nowMs: 0 }).status, 'accepted');
    node.finalizeBlock();
  }
  if (!options.halt) node.finalizeBlock();
  return node;
}

test('audit log against finality: a forged log that hashes to its own engine root is refused', async (t) => {
  const honest = governedNode({ halt: true });
  const liar = governedNode({ halt: false });
  const api = await startApiServer({ view: honest.view });
  const lying = await startApiServer({ view: liar.view });
  t.after(() => Promise.all([api.close(), lying.close()]));
  const read = await fetchAuditLog(api.url);
  const forged = await fetchAuditLog(lying.url);
  assert.equal(forged.proof.height, read.proof.height);
  assert.ok(read.entries.some((e) => e.action === 'governanceHalt'));
  assert.ok(!forged.entries.some((e) => e.action === 'governanceHalt'), 'the liar hides the halt');
  assert.notEqual(forged.proof.stateRoot, read.proof.stateRoot);
  // Self-consistent: every hash, link and the proof check out under the liar's own root.
  verifyAuditLog(forged);

  const light = createLightClient({
    chainId: honest.chainId,
    validators: honest.validatorSet,
    keyset: honest.keyset,
    keysetDomain: { chainId: honest.chainId, verifyingContract: new Uint8Array(20).fill(0x11) },
  });
  const driver = createLightClientDriver(light, { url: api.url });
  // Not yet certified: the block committing the proof's height is 16 blocks on.
  await assert.rejects(verifyAuditLogCertified(read, driver, 0), refusedWith('ROOT_NOT_COMMITTED'));
  // The command, from a genesis file naming the fixture's validators.
  const dir = mkdtempSync(join(tmpdir(), 'palisade-audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const genesisFile = join(dir, 'genesis.json');
  const genesis = buildGenesis({
    chainId: honest.chainId,
    validators: honest.validators.map((signer, i) => ({
      publicKey: signer.publicKey,
      p2p: { host: '127.0.0.1', port: 26600 + i },
      api: `http://127.0.0.1:${26700 + i}`,
    })),
    operator: OPERATOR.publicKey,
    governance: testGovernance(),
    startTimeMs: 1_800_000_000_000,
  });
  writeFileSync(genesisFile, JSON.stringify(genesisToJson(genesis)));
  const command = ['--url', api.url, '--verify', '--genesis', genesisFile, '--wait-ms', '0'];
  const { code: early, out: earlyOut } = await captured(() => run(command));
  assert.equal(early, 1);
  assert.match(earlyOut.join('\n'), /ROOT_NOT_COMMITTED/);

  for (let i = 0; i < 16; i++) honest.finalizeBlock();
  const { head, certifiedBy } = await verifyAuditLogCertified(read, driver, 0);
  assert.equal(head.hash, read.head.hash);
  assert.equal(certifiedBy, read.proof.height + 16);
  // The command reads the log at the node's new tip, then waits for finality to pass it by 16
  // blocks while the chain goes on.
  const producing = setInterval(() => honest.finalizeBlock(), 10);
  const { code, out } = await captured(() => run([...command.slice(0, -1), '60000'])).finally(() =>
    clearInterval(producing),
  );
  assert.equal(code, 0, out.join('\n'));
  assert.match(out.at(-1)!, /^verified: .* \(certified: finalized block \d+ commits the state after \d+\)$/);

  await assert.rejects(verifyAuditLogCertified(forged, driver, 0), refusedWith('OPENING_MISMATCH'));
  const copy = (): AuditLogRead => JSON.parse(JSON.stringify(read));
  const forgedOpening = JSON.parse(JSON.stringify(forged)) as AuditLogRead;
  forgedOpening.opening.prices = read.opening.prices;
  assert.throws(() => verifyAuditLog(forgedOpening, { light }), refusedWith('OPENING_MISMATCH'));
  const honestOpening = JSON.parse(JSON.stringify(forged)) as AuditLogRead;
  honestOpening.opening = read.opening;
  assert.throws(
    () => verifyAuditLog(honestOpening, { light }),
    refusedWith('ROOT_MISMATCH'),
    'the true opening does not vouch for another engine root',
  );
  const later = copy();
  later.proof.height = light.tip.height;
  assert.throws(() => verifyAuditLog(later, { light }), refusedWith('ROOT_NOT_COMMITTED'));
  const unopened = copy();
  delete (unopened as Partial<AuditLogRead>).opening;
  assert.throws(() => verifyAuditLog(unopened, { light }), refusedWith('MALFORMED'));
  const badPrice = copy();
  badPrice.opening.prices = ['0x00'];
  assert.throws(() => verifyAuditLog(badPrice, { light }), refusedWith('MALFORMED'));
});

test('audit log: the served chain verifies against the committed head; tampering fails with a typed error', async () => {
  const node = createFixtureNode();
  node.finalizeBlock();
  const expiryMs = node.engine.timeMs + MS_PER_DAY;
  const actions = [
    governed(
      { kind: 'haltMarkets', value: { underlyingId: 1 } },
      { signers: GUARDIANS.slice(0, 2), expiryMs },
    ),
    governed(
      { kind: 'resumeMarkets', value: { underlyingId: 1 } },
      { signers: GOVERNORS.slice(0, 3), expiryMs },
    ),
    governed(
      { kind: 'listSeries', value: btcSeries(false, 45_000, node.engine.timeMs + 3 * MS_PER_DAY) },
      { signers: GOVERNORS.slice(2), expiryMs },
    ),
  ];
  for (const [nonce, action] of actions.entries()) {
    const admitted = node.mempool.admit(
      SignedTransactionCodec.encode(actionTransaction(GOVERNANCE, nonce, action)),
      {
        height: node.engine.height + 1,
        nowMs: 0,
      },
    );
    assert.equal(admitted.status, 'accepted');
    node.finalizeBlock();
  }
  const api = await startApiServer({ view: node.view });
  try {
    const read = await fetchAuditLog(api.url);
    assert.ok(read.entries.length >= 5, `entries: ${read.entries.map((e) => e.action).join(', ')}`);
    assert.ok(read.entries.some((e) => e.action === 'governanceHalt'));
    assert.ok(read.entries.some((e) => e.action === 'seriesListed'));
    const { head } = verifyAuditLog(read, { stateRoot: read.proof.stateRoot });
    assert.deepEqual(head, node.engine.auditHead());

    const copy = (): AuditLogRead => JSON.parse(JSON.stringify(read));
    const modified = copy();
    modified.entries[1]!.details = { ...modified.entries[1]!.details, underlyingId: '0' };
    assert.throws(() => verifyAuditLog(modified), refusedWith('BAD_HASH'));
    const dropped = copy();
    dropped.entries.splice(1, 1);
    assert.throws(() => verifyAuditLog(dropped), refusedWith('BAD_SEQUENCE'));
    const renumbered = copy();
    renumbered.entries.splice(1, 1);
    for (const [i, entry] of renumbered.entries.entries()) entry.sequence = i;
    assert.throws(() => verifyAuditLog(renumbered), refusedWith('BAD_LINK'));
    const truncated = copy();
    truncated.entries.pop();
    assert.throws(() => verifyAuditLog(truncated), refusedWith('HEAD_MISMATCH'));
    const rewritten = copy();
    rewritten.entries.pop();
    rewritten.head = { sequence: rewritten.head.sequence - 1, hash: rewritten.entries.at(-1)!.hash };
    assert.throws(
      () => verifyAuditLog(rewritten),
      refusedWith('HEAD_MISMATCH'),
      'a shorter chain with its own head is not the committed one',
    );
    const otherRoot = `0x${'11'.repeat(32)}`;
    assert.throws(() => verifyAuditLog(read, { stateRoot: otherRoot }), refusedWith('ROOT_MISMATCH'));
    const forgedProof = copy();
    forgedProof.proof.stateRoot = otherRoot;
    assert.throws(() => verifyAuditLog(forgedProof), refusedWith('BAD_STATE_PROOF'));

    const printed: string[] = [];
    const log = console.log;
    console.log = (line: string) => printed.push(line);
    try {
      assert.equal(await run(['--url', api.url, '--verify']), 0);
    } finally {
      console.log = log;
    }
    assert.match(printed.at(-1)!, /^verified: \d+ entries from 0/);
    await assert.rejects(
      run(['--url', api.url, '--verify', '--genesis', 'genesis.json', '--state-root', otherRoot]),
      UsageError,
    );
  } finally {
    await api.close();
  }
});
