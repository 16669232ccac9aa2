/**
 * Margin proofs, attacks first. Proving tests use the 1-position circuit (the CI build); the 4 and
 * 16-position circuits are the same template and are exercised by `palisade bench zk`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { accountLeaf, loadPoseidon, ownerCommitment, PoseidonTree } from '../crypto/poseidon-tree.ts';
import {
  artifactsBuilt,
  CIRCUITS_DIR,
  KEY_PART_BYTES,
  loadProverArtifacts,
  loadVerificationKey,
  parseVerificationKey,
} from './keys.ts';
import {
  type AccountWitness,
  anonymitySetSize,
  checkWitness,
  circuitInputs,
  type MarginProof,
  MarginProofError,
  type MarginStatement,
  parseMarginProof,
  type SeriesMark,
  standardRequirement,
  TABLE_SLOTS,
  TagRegistry,
} from './margin-proof.ts';
import { proveInputs, proveMargin, shutdownProver, type VerifyContext, verifyMargin } from './prover.ts';

const hasher = await loadPoseidon();
const USDC = 1_000_000n;
const E18 = 10n ** 18n;

// ETH options, 0.1 ETH lots, index 3,000 USDC.
const series: SeriesMark[] = [
  {
    seriesId: 7,
    isCall: false,
    spot: 3000n * USDC,
    markPerUnit: 50n * USDC * E18,
    lotUnderlyingE12: 10n ** 11n,
  },
  {
    seriesId: 3,
    isCall: true,
    spot: 3000n * USDC,
    markPerUnit: 120n * USDC * E18,
    lotUnderlyingE12: 10n ** 11n,
  },
  {
    seriesId: 9,
    isCall: true,
    spot: 3000n * USDC,
    markPerUnit: 5n * USDC * E18,
    lotUnderlyingE12: 10n ** 11n,
  },
];
const secret = 0x5ec7e7n;
const commitment = ownerCommitment(hasher, secret);
const trader = { index: 41, balance: 1000n * USDC, positions: [{ seriesId: 7, lots: -10 }] };
const others = [
  { index: 2, balance: 5000n * USDC, positions: [{ seriesId: 3, lots: -2 }], commitment: 11n },
  { index: 90_000, balance: 800n * USDC, positions: [{ seriesId: 9, lots: 4 }], commitment: 12n },
  { index: 5, balance: 10n * USDC, positions: [{ seriesId: 7, lots: -30 }], commitment: 13n },
];
const tree = new PoseidonTree(hasher, 20);
tree.set(trader.index, accountLeaf(hasher, { ...trader, ownerCommitment: commitment }));
for (const o of others) tree.set(o.index, accountLeaf(hasher, { ...o, ownerCommitment: o.commitment }));
const HEIGHT = 120;

function statement(overrides: Partial<MarginStatement> = {}): MarginStatement {
  return {
    height: HEIGHT,
    root: tree.root(),
    mmBps: 750,
    kBps: 30_000,
    challenge: 0xc0ffeen,
    series,
    ...overrides,
  };
}
const witness: AccountWitness = { ...trader, secret, path: tree.path(trader.index) };

function context(overrides: Partial<VerifyContext> = {}): VerifyContext {
  return {
    checkpoint: { height: HEIGHT, accountRoot: tree.root() },
    currentHeight: HEIGHT + 2,
    maxAgeBlocks: 10,
    verificationKeys: { 1: loadVerificationKey(1) },
    tags: new TagRegistry(),
    ...overrides,
  };
}

function refused(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof MarginProofError, `expected MarginProofError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  };
}

let proof: MarginProof;

before(async () => {
  if (!artifactsBuilt(1)) {
    // The CI build: the 1-position circuit, checked against the committed hashes.
    execFileSync(process.execPath, [`${CIRCUITS_DIR}/build.ts`, '--sizes', '1'], { stdio: 'inherit' });
  }
  proof = await proveMargin(hasher, loadProverArtifacts(1), statement(), witness, commitment);
});

after(shutdownProver);

test("the engine's standard maintenance, by hand: short 10 puts at 50, index 3,000, 7.5%", () => {
  // markPerLot = 50 × 0.1 = 5 USDC; mm per unit = max(0.075 × 3000, 0.075 × 50) + 50 = 275,
  // per lot 27.5, × 10 = 275 USDC; equity = 1000 − 10 × 5 = 950 USDC: ratio 3.4545…
  const r = standardRequirement(750, series, trader.balance, trader.positions);
  assert.deepEqual(r, { equity: 950n * USDC, maintenance: 275n * USDC });
  assert.doesNotThrow(() => checkWitness(hasher, statement({ kBps: 34_545 }), witness, commitment));
  assert.throws(
    () => checkWitness(hasher, statement({ kBps: 34_546 }), witness, commitment),
    refused('INSUFFICIENT_MARGIN'),
  );
});

test('an honest proof verifies, and carries no account field', async () => {
  const verified = await verifyMargin(statement(), proof, context());
  assert.equal(verified.height, HEIGHT);
  assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(proof))).sort(), [
    'circuit',
    'height',
    'proof',
    'publicSignals',
    'version',
  ]);
  const signals = new Set(proof.publicSignals);
  for (const hidden of [trader.index, trader.balance, tree.leaf(trader.index), commitment, secret]) {
    assert.ok(!signals.has(String(hidden)), `public signals contain ${hidden}`);
  }
  assert.deepEqual(parseMarginProof(JSON.parse(JSON.stringify(proof))), proof);
  // The trader hides among every account that qualifies at k = 3 with at most one position.
  assert.equal(anonymitySetSize(statement(), 1, [trader, ...others]), 3);
});

test('refused: a proof for another root (the tree moved on) and a stale checkpoint', async () => {
  const moved = PoseidonTree.restore(hasher, tree.snapshot());
  moved.set(77, 5n);
  const next = { height: HEIGHT + 1, accountRoot: moved.root() };
  await assert.rejects(
    verifyMargin(
      statement({ height: next.height, root: next.accountRoot }),
      proof,
      context({ checkpoint: next }),
    ),
    refused('WRONG_ROOT'),
  );
  // Claiming the proof is for the new checkpoint: its root signal is not the new root.
  await assert.rejects(
    verifyMargin(
      statement({ height: next.height, root: next.accountRoot }),
      { ...proof, height: next.height },
      context({ checkpoint: next }),
    ),
    refused('WRONG_STATEMENT'),
  );
  await assert.rejects(
    verifyMargin(statement(), proof, context({ currentHeight: HEIGHT + 11 })),
    refused('STALE_CHECKPOINT'),
  );
});

test('refused: a ratio above the truth, by the prover and by the circuit itself', async () => {
  const greedy = statement({ kBps: 35_000 });
  assert.throws(() => checkWitness(hasher, greedy, witness, commitment), refused('INSUFFICIENT_MARGIN'));
  await assert.rejects(
    proveInputs(loadProverArtifacts(1), HEIGHT, circuitInputs(hasher, greedy, witness, 1)),
    refused('PROOF_FAILED'),
  );
});

test('refused: a tampered public input (k raised after proving)', async () => {
  const tampered = { ...proof, publicSignals: [...proof.publicSignals] };
  tampered.publicSignals[2] = '34000';
  await assert.rejects(verifyMargin(statement(), tampered, context()), refused('WRONG_STATEMENT'));
  await assert.rejects(
    verifyMargin(statement({ kBps: 34_000 }), tampered, context()),
    refused('INVALID_PROOF'),
  );
  const mark = { ...proof, publicSignals: [...proof.publicSignals] };
  // Table slot 0 is series 3 (sorted); its mark is signal 5 + 3 × TABLE_SLOTS.
  mark.publicSignals[5 + 3 * TABLE_SLOTS] = String(1n * USDC * E18);
  const cheaper = series.map((s) => (s.seriesId === 3 ? { ...s, markPerUnit: 1n * USDC * E18 } : s));
  await assert.rejects(
    verifyMargin(statement({ series: cheaper }), mark, context()),
    refused('INVALID_PROOF'),
  );
});

test('refused: a proof replayed to a verifier with another challenge', async () => {
  const other = statement({ challenge: 0xbeefn });
  await assert.rejects(verifyMargin(other, proof, context()), refused('WRONG_STATEMENT'));
  const rewritten = { ...proof, publicSignals: [...proof.publicSignals] };
  rewritten.publicSignals[3] = String(0xbeefn);
  await assert.rejects(verifyMargin(other, rewritten, context()), refused('INVALID_PROOF'));
});

test('refused: a second proof of the same account to the same verifier (same tag)', async () => {
  const ctx = context();
  await verifyMargin(statement(), proof, ctx);
  const again = await proveMargin(hasher, loadProverArtifacts(1), statement(), witness, commitment);
  assert.notDeepEqual(again.proof, proof.proof);
  await assert.rejects(verifyMargin(statement(), again, ctx), refused('TAG_REUSED'));
});

test('refused: a secret that does not match the registered commitment', async () => {
  const thief = { ...witness, secret: secret + 1n };
  assert.throws(() => checkWitness(hasher, statement(), thief, commitment), refused('SECRET_MISMATCH'));
  assert.throws(
    () => checkWitness(hasher, statement(), thief, ownerCommitment(hasher, thief.secret)),
    refused('NOT_IN_TREE'),
  );
  await assert.rejects(
    proveInputs(loadProverArtifacts(1), HEIGHT, circuitInputs(hasher, statement(), thief, 1)),
    refused('PROOF_FAILED'),
  );
});

test('the committed proving key is stored in parts under 5 MB; a part missing or changed is refused', () => {
  const keys = join(CIRCUITS_DIR, 'keys');
  for (let i = 0; i < 3; i++) assert.ok(statSync(join(keys, `margin_1.zkey.${i}`)).size <= KEY_PART_BYTES);
  assert.equal(
    loadProverArtifacts(1).zkey.length,
    2 * KEY_PART_BYTES + statSync(join(keys, 'margin_1.zkey.2')).size,
  );
  const copy = mkdtempSync(join(tmpdir(), 'palisade-keys-'));
  try {
    cpSync(join(CIRCUITS_DIR, 'keys.sha256.json'), join(copy, 'keys.sha256.json'));
    cpSync(keys, join(copy, 'keys'), { recursive: true });
    rmSync(join(copy, 'keys', 'margin_1.zkey.2'));
    assert.throws(() => loadProverArtifacts(1, copy), refused('KEY_HASH_MISMATCH'), 'last part missing');
    writeFileSync(join(copy, 'keys', 'margin_1.zkey.2'), new Uint8Array(10));
    assert.throws(() => loadProverArtifacts(1, copy), refused('KEY_HASH_MISMATCH'), 'last part changed');
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

test('refused: a verification key or proving key that is not the committed build', () => {
  const vkey = JSON.stringify(loadVerificationKey(1));
  const forged = new TextEncoder().encode(vkey.replace('"nPublic"', '"nPublic" '));
  assert.throws(() => parseVerificationKey(1, forged), refused('KEY_HASH_MISMATCH'));
  assert.throws(() => parseMarginProof({ ...proof, account: 41 }), refused('MALFORMED_PROOF'));
});
