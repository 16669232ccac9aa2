/**
 * The circuit itself refuses, at witness generation (no keys needed, only the compiled circuit):
 * whoever runs the public circuit with their own inputs cannot satisfy it for a ratio above the
 * truth, a secret that is not the registered one, another root, or forged positions. The same
 * limits as the TS formula, to the basis point.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { wtns } from 'snarkjs';
import { accountLeaf, loadPoseidon, ownerCommitment, PoseidonTree } from '../crypto/poseidon-tree.ts';
import { artifactFiles, CIRCUITS_DIR } from './keys.ts';
import { type AccountWitness, circuitInputs, type MarginStatement, type SeriesMark } from './margin-proof.ts';
import { shutdownProver } from './prover.ts';

const hasher = await loadPoseidon();
const USDC = 1_000_000n;
const E18 = 10n ** 18n;
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
];
const secret = 0x5ec7e7n;
const commitment = ownerCommitment(hasher, secret);
const trader = { index: 41, balance: 1000n * USDC, positions: [{ seriesId: 7, lots: -10 }] };
const tree = new PoseidonTree(hasher, 20);
tree.set(trader.index, accountLeaf(hasher, { ...trader, ownerCommitment: commitment }));
tree.set(2, 123n);
const witness: AccountWitness = { ...trader, secret, path: tree.path(trader.index) };
const statement = (o: Partial<MarginStatement> = {}): MarginStatement => ({
  height: 1,
  root: tree.root(),
  mmBps: 750,
  kBps: 30_000,
  challenge: 99n,
  series,
  ...o,
});

let wasm: Uint8Array;
before(() => {
  if (!existsSync(artifactFiles(1).wasm)) {
    execFileSync(process.execPath, [`${CIRCUITS_DIR}/build.ts`, '--sizes', '1', '--compile-only'], {
      stdio: 'inherit',
    });
  }
  wasm = readFileSync(artifactFiles(1).wasm);
});
after(shutdownProver);

async function satisfied(inputs: Record<string, string | string[]>): Promise<boolean> {
  try {
    await wtns.calculate(inputs, wasm, { type: 'mem' });
    return true;
  } catch {
    return false;
  }
}

test('equity ≥ k × maintenance exactly at the boundary: 3.4545 holds, 3.4546 does not', async () => {
  // equity 950 USDC, maintenance 275 USDC (by hand in margin-proof.test.ts): 950 / 275 = 3.45454…
  assert.equal(await satisfied(circuitInputs(hasher, statement({ kBps: 34_545 }), witness, 1)), true);
  assert.equal(await satisfied(circuitInputs(hasher, statement({ kBps: 34_546 }), witness, 1)), false);
});

test('a secret that is not the registered commitment, another root, a forged tag: unsatisfiable', async () => {
  assert.equal(
    await satisfied(circuitInputs(hasher, statement(), { ...witness, secret: secret + 1n }, 1)),
    false,
  );
  assert.equal(
    await satisfied(circuitInputs(hasher, statement({ root: tree.root() + 1n }), witness, 1)),
    false,
  );
  const inputs = circuitInputs(hasher, statement(), witness, 1);
  assert.equal(await satisfied({ ...inputs, tag: String(BigInt(inputs.tag as string) + 1n) }), false);
});

test('hiding the short position or flipping it long: the leaf no longer opens', async () => {
  const inputs = circuitInputs(hasher, statement(), witness, 1);
  assert.equal(await satisfied({ ...inputs, short: ['0'] }), false);
  assert.equal(
    await satisfied({ ...inputs, used: ['0'], seriesId: ['0'], short: ['0'], lots: ['0'] }),
    false,
  );
  assert.equal(await satisfied({ ...inputs, lots: ['9'] }), false);
});

test('range check: a balance of 2^64 is refused even with a leaf hashed over it', async () => {
  const rich = { ...witness, balance: 2n ** 64n };
  const t = new PoseidonTree(hasher, 20);
  // The leaf hashed directly (accountLeaf refuses the balance): the circuit must refuse on its own.
  const leaf = hasher.hash([rich.balance, hasher.hash([0n, 7n * 2n ** 33n + 2n ** 32n + 10n]), commitment]);
  t.set(41, leaf);
  const inputs = circuitInputs(hasher, statement({ root: t.root() }), { ...witness, path: t.path(41) }, 1);
  assert.equal(await satisfied({ ...inputs, balance: rich.balance.toString() }), false);
  // The same leaf with the in-range balance is fine (so the refusal above is the range check).
  const ok = hasher.hash([trader.balance, hasher.hash([0n, 7n * 2n ** 33n + 2n ** 32n + 10n]), commitment]);
  t.set(41, ok);
  const fine = circuitInputs(hasher, statement({ root: t.root() }), { ...witness, path: t.path(41) }, 1);
  assert.equal(await satisfied(fine), true);
});
