/**
 * Checkpoint records survive a restart: a validator that restarts before its price key loads (or
 * from a snapshot past the checkpoint) still serves a pre-restart withdrawal's proof, and that
 * proof and the certificate beside it verify. A torn or tampered record in storage is dropped,
 * never served.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runLocalDkg } from '../crypto/dkg.ts';
import { frostAggregate, frostCommit, frostSignShare } from '../crypto/frost.ts';
import { verifyEvmMerkleProof } from '../crypto/merkle-evm.ts';
import { withdrawalsRootOf } from '../execution/withdrawals.ts';
import { verifyCheckpointCertificate } from '../interop/evm/checkpoint.ts';
import { SimStorage } from '../runtime/sim/storage.ts';
import { createCheckpointSigner } from './checkpoint-signing.ts';

const keys = runLocalDkg({ chainId: 7, epoch: 1, participants: 4, threshold: 3 });
const domain = { chainId: 31_337, verifyingContract: new Uint8Array(20).fill(0x22) };
const bridge = {
  evmChainId: 31_337,
  vault: new Uint8Array(20).fill(0x33),
  token: new Uint8Array(20).fill(0x44),
  checkpointEveryBlocks: 2,
};
const groupKeyset = { epoch: 1, groupPublicKey: keys[0]!.groupPublicKey };

/** A stand-in for the price signer that signs with three shares, or has no key yet. */
function pricesWith(loaded: boolean) {
  return {
    keyset: () =>
      loaded
        ? { epoch: 1, groupPublicKey: keys[0]!.groupPublicKey, threshold: 3, participants: 4 }
        : undefined,
    signDigest(digest: Uint8Array, _epoch: number, _base: number, onSigned: (signature: Uint8Array) => void) {
      const signers = keys.slice(0, 3);
      const round1 = signers.map((key) => frostCommit(key));
      const commitments = round1.map((x) => x.commitment);
      const shares = new Map(
        signers.map((key, i) => [key.index, frostSignShare(key, round1[i]!.nonces, commitments, digest)]),
      );
      onSigned(frostAggregate(keys[0]!.public, commitments, digest, shares));
      return true;
    },
    closeDigest: () => {},
  };
}

const entries = [1, 2, 3].map((id) => ({
  id,
  recipient: new Uint8Array(20).fill(id),
  token: bridge.token,
  amount: 1_000_000n * BigInt(id),
}));

function signerOver(storage: SimStorage, loaded: boolean, retainCheckpoints?: number) {
  return createCheckpointSigner({
    domain,
    everyBlocks: 2,
    prices: pricesWith(loaded),
    broadcast: () => {},
    storage,
    ...(retainCheckpoints === undefined ? {} : { retainCheckpoints }),
  });
}

function block(height: number, list = entries) {
  return {
    height,
    blockHash: new Uint8Array(32).fill(height),
    stateRoot: new Uint8Array(32).fill(0xb2),
    withdrawals: {
      bridge,
      nextId: 4,
      checkpointHeight: height,
      entries: list,
      root: withdrawalsRootOf(bridge, list),
    },
    sign: true,
  };
}

test('after a restart with no key loaded yet, a pre-restart withdrawal proof is served and verifies', () => {
  const storage = new SimStorage();
  signerOver(storage, true).onBlock(block(2));

  const restarted = signerOver(storage, false);
  const latest = restarted.latest();
  assert.ok(latest?.certificate, 'the certified checkpoint is back');
  assert.equal(verifyCheckpointCertificate(latest.certificate, groupKeyset, domain).ok, true);
  const proof = restarted.proof(2);
  assert.ok(proof, 'the withdrawal proof is back');
  assert.equal(proof.entry.amount, 2_000_000n);
  assert.ok(verifyEvmMerkleProof(latest.checkpoint.withdrawalsRoot, proof.leaf, proof.proof));
  assert.equal(restarted.byHeight(2)?.checkpoint.height, 2n);
});

test('a checkpoint recorded but not yet certified comes back and takes its certificate later', () => {
  const storage = new SimStorage();
  const first = signerOver(storage, true);
  first.onBlock({ ...block(2), sign: false });
  assert.equal(first.latest(), undefined);
  const restarted = signerOver(storage, true);
  assert.ok(restarted.byHeight(2));
  assert.equal(restarted.byHeight(2)?.certificate, undefined);

  // A peer's certificate for it arrives after the restart; it is kept, and kept across the next one.
  let broadcast: Uint8Array | undefined;
  createCheckpointSigner({
    domain,
    everyBlocks: 2,
    prices: pricesWith(true),
    broadcast: (bytes) => {
      broadcast = bytes;
    },
  }).onBlock(block(2));
  restarted.receive(1, broadcast!);
  assert.ok(restarted.latest()?.certificate);
  const again = signerOver(storage, false);
  assert.equal(again.latest()?.checkpoint.height, 2n);
  assert.ok(again.proof(1));
});

test('a torn record is dropped from storage; the other records still load', () => {
  const storage = new SimStorage();
  const first = signerOver(storage, true);
  first.onBlock(block(2));
  first.onBlock(block(4, entries.slice(0, 1)));
  const keys = storage.keys('bridge/checkpoint/');
  assert.equal(keys.length, 2);
  const torn = storage.get(keys[1]!)!;
  storage.put(keys[1]!, torn.subarray(0, torn.length - 7));

  const restarted = signerOver(storage, false);
  assert.equal(restarted.byHeight(4), undefined);
  assert.equal(storage.get(keys[1]!), undefined, 'the torn record is deleted');
  assert.ok(restarted.proof(3));
});

test('a stored record whose entries do not hash to its certified root is dropped, not served', () => {
  const storage = new SimStorage();
  signerOver(storage, true).onBlock(block(2));
  const [key] = storage.keys('bridge/checkpoint/');
  const bytes = Uint8Array.from(storage.get(key!)!);
  // The amount of the last entry is the record's tail before the certificate: flip a byte of
  // every entry's amount region by searching for the 3,000,000 amount's low bytes.
  const amount = 3_000_000;
  const low = [amount & 0xff, (amount >> 8) & 0xff, (amount >> 16) & 0xff];
  let flipped = false;
  for (let i = 0; i + 2 < bytes.length; i++)
    if (bytes[i] === low[0] && bytes[i + 1] === low[1] && bytes[i + 2] === low[2]) {
      bytes[i + 2]! ^= 0x40; // 3,000,000 becomes another amount: a stolen-value edit of the disk
      flipped = true;
      break;
    }
  assert.ok(flipped);
  storage.put(key!, bytes);
  const restarted = signerOver(storage, false);
  assert.equal(restarted.proof(3), undefined);
  assert.equal(restarted.byHeight(2), undefined);
  assert.equal(storage.get(key!), undefined);
});

test('forgotten checkpoints leave storage too', () => {
  const storage = new SimStorage();
  const first = signerOver(storage, true, 2);
  for (const height of [2, 4, 6])
    first.onBlock(
      block(
        height,
        entries.slice(0, 1).map((e) => ({ ...e, id: height })),
      ),
    );
  assert.equal(storage.keys('bridge/checkpoint/').length, 2);
  const restarted = signerOver(storage, false, 2);
  assert.equal(restarted.byHeight(2), undefined);
  assert.ok(restarted.proof(6));
});

test('attack: after a validator joins, the added member still starts checkpoint sessions in turn', () => {
  // The price signer reduces the base by its epoch's member count (five after a join); the
  // checkpoint signer must not reduce it first by the genesis count, or member 4 never starts one.
  const members = 5;
  const starts = new Set<number>();
  const prices = {
    ...pricesWith(true),
    signDigest(_digest: Uint8Array, _epoch: number, base: number) {
      starts.add(base % members);
      return true;
    },
  };
  const signer = createCheckpointSigner({ domain, everyBlocks: 2, prices, broadcast: () => {} });
  for (let height = 2; height <= 2 * members * 2; height += 2) signer.onBlock(block(height));
  assert.deepEqual(
    [...starts].sort((a, b) => a - b),
    [0, 1, 2, 3, 4],
  );
});
