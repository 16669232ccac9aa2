/**
 * The bridge routes over checkpoints from the real checkpoint signer: a relayer's read gives the
 * certificate the verifier checks and a proof the vault's root accepts; unknown heights and ids
 * are typed 404s; the amount is money (a string), heights, epochs and ids numbers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignedDepositReportCodec } from '../../codec/bridge.ts';
import { fromHex } from '../../crypto/bytes.ts';
import { runLocalDkg } from '../../crypto/dkg.ts';
import { frostAggregate, frostCommit, frostSignShare } from '../../crypto/frost.ts';
import { verifyEvmMerkleProof } from '../../crypto/merkle-evm.ts';
import { testSigner } from '../../execution/fixtures.ts';
import { withdrawalsRootOf } from '../../execution/withdrawals.ts';
import { verifyCheckpointCertificate } from '../../interop/evm/checkpoint.ts';
import { signDepositReport } from '../../interop/evm/deposit-quorum.ts';
import { createCheckpointSigner } from '../checkpoint-signing.ts';
import { createDepositStatus } from '../deposit-status.ts';
import { checkpointJson, withdrawalProofJson } from './bridge.ts';
import { createFixtureNode } from './fixture-node.ts';
import { createApiServer } from './server.ts';

const keys = runLocalDkg({ chainId: 7, epoch: 1, participants: 4, threshold: 3 });
const domain = { chainId: 31_337, verifyingContract: new Uint8Array(20).fill(0x22) };
const bridge = {
  evmChainId: 31_337,
  vault: new Uint8Array(20).fill(0x33),
  token: new Uint8Array(20).fill(0x44),
  checkpointEveryBlocks: 2,
};

/** A one-validator stand-in for the price signer: it signs with three shares of the test keyset. */
const prices = {
  keyset: () => ({ epoch: 1, groupPublicKey: keys[0]!.groupPublicKey, threshold: 3, participants: 4 }),
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

test('checkpoint and withdrawal routes serve what submitCheckpoint and claim take', async () => {
  const signer = createCheckpointSigner({
    domain,
    everyBlocks: 2,
    prices,
    broadcast: () => {},
  });
  const entries = [1, 2, 3].map((id) => ({
    id,
    recipient: new Uint8Array(20).fill(id),
    token: bridge.token,
    amount: 1_234_567n * BigInt(id),
  }));
  signer.onBlock({
    height: 2,
    blockHash: new Uint8Array(32).fill(0xb1),
    stateRoot: new Uint8Array(32).fill(0xb2),
    withdrawals: {
      bridge,
      nextId: 4,
      checkpointHeight: 2,
      entries,
      root: withdrawalsRootOf(bridge, entries),
    },
    sign: true,
  });
  const node = createFixtureNode();
  const view = {
    ...node.view,
    checkpoint: (height: number | 'latest') => {
      const record = height === 'latest' ? signer.latest() : signer.byHeight(height);
      return record?.certificate === undefined ? undefined : checkpointJson(record, domain);
    },
    withdrawalProof: (id: number) => {
      const proof = signer.proof(id);
      return proof === undefined ? undefined : withdrawalProofJson(proof, domain);
    },
  };
  const app = createApiServer({ view });
  await app.ready();
  try {
    const latest = (await app.inject('/v1/bridge/checkpoints/latest')).json();
    assert.equal(latest.height, 2);
    assert.equal(latest.epoch, 1);
    assert.equal(latest.withdrawals, 3);
    const verdict = verifyCheckpointCertificate(
      fromHex(latest.encoded.slice(2))!,
      { epoch: 1, groupPublicKey: keys[0]!.groupPublicKey },
      domain,
    );
    assert.equal(verdict.ok, true);
    assert.deepEqual((await app.inject('/v1/bridge/checkpoints/2')).json(), latest);

    const read = (await app.inject('/v1/bridge/withdrawals/2')).json();
    assert.deepEqual(read.withdrawal, {
      id: 2,
      token: `0x${'44'.repeat(20)}`,
      recipient: `0x${'02'.repeat(20)}`,
      amount: '2469134',
      amountDecimal: '2.469134',
    });
    const proof = read.proof.map((p: string) => fromHex(p.slice(2))!);
    assert.ok(
      verifyEvmMerkleProof(fromHex(latest.withdrawalsRoot.slice(2))!, fromHex(read.leaf.slice(2))!, proof),
    );

    const missing = await app.inject('/v1/bridge/checkpoints/4');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'CHECKPOINT_NOT_FOUND');
    const unknown = await app.inject('/v1/bridge/withdrawals/9');
    assert.equal(unknown.json().error.code, 'WITHDRAWAL_NOT_FOUND');
    assert.equal((await app.inject('/v1/bridge/withdrawals/-1')).statusCode, 400);
  } finally {
    await app.close();
  }
});

test('deposit routes: pending with its reporters, credited, a typed 404 and bounded queries', async () => {
  const signers = ['v0', 'v1', 'v2', 'v3'].map(testSigner);
  const vault = new Uint8Array(20).fill(0x33);
  const rules = {
    chainId: 7,
    validators: signers.map((s) => s.publicKey),
    bridge: { evmChainId: 31_337, vault },
  };
  const credited = new Set<number>();
  const status = createDepositStatus({ rules, isCredited: (nonce) => credited.has(nonce) });
  const deposit = (nonce: number) => ({
    transactionHash: new Uint8Array(32).fill(nonce),
    logIndex: 0,
    account: new Uint8Array(32).fill(0x01),
    token: new Uint8Array(20).fill(0x44),
    amount: 2_000_000n,
    nonce,
  });
  const report = (signer: (typeof signers)[number], height: number, nonces: number[]) =>
    SignedDepositReportCodec.encode(
      signDepositReport(signer, {
        chainId: 7,
        height,
        validator: signer.publicKey,
        evmChainId: 31_337,
        vault,
        deposits: nonces.map(deposit),
      }),
    );
  credited.add(1);
  status.onBlock(3, [
    report(signers[0]!, 3, [1, 2]),
    report(signers[1]!, 3, [1, 2]),
    report(signers[2]!, 3, [1]),
  ]);
  const node = createFixtureNode();
  const app = createApiServer({
    view: { ...node.view, deposits: (query) => status.list(query), deposit: (nonce) => status.get(nonce) },
  });
  await app.ready();
  try {
    const pending = (await app.inject('/v1/bridge/deposits/2')).json();
    assert.equal(pending.status, 'pending');
    assert.deepEqual(pending.reporters, [0, 1]);
    assert.equal(pending.reported, 2);
    assert.equal(pending.quorum, 3);
    assert.equal(pending.amount, '2000000');
    assert.equal(pending.amountDecimal, '2');
    const done = (await app.inject('/v1/bridge/deposits/1')).json();
    assert.equal(done.status, 'credited');
    assert.equal(done.creditedHeight, 3);
    const list = (await app.inject('/v1/bridge/deposits?status=pending')).json();
    assert.deepEqual(
      list.deposits.map((d: { nonce: number }) => d.nonce),
      [2],
    );
    assert.equal((await app.inject('/v1/bridge/deposits')).json().deposits.length, 2);
    const missing = await app.inject('/v1/bridge/deposits/9');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'DEPOSIT_NOT_FOUND');
    assert.equal((await app.inject('/v1/bridge/deposits/0')).statusCode, 400);
    assert.equal((await app.inject('/v1/bridge/deposits?limit=501')).statusCode, 400);
    assert.equal((await app.inject('/v1/bridge/deposits?status=stolen')).statusCode, 400);
  } finally {
    await app.close();
  }
});
