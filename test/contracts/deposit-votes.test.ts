/**
 * Deposit reports riding on votes, through four validators' applications (src/node/app.ts): each
 * attaches its signed report to its vote extension beside its (absent) observation, the proposer
 * carries the reports it collected in `BlockPayload.deposits`, the others verify the block, and
 * on finalization every validator credits what 2f + 1 reported identically. Attacks: one validator
 * attaching an invented deposit (never credited), a proposer altering a carried report (the block
 * is refused), a vote extension carrying another validator's report (the vote is refused).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ChainBridge } from '../../src/chain/block-rule.ts';
import { SignedDepositReportCodec, VoteExtensionCodec } from '../../src/codec/bridge.ts';
import { BlockPayloadCodec } from '../../src/codec/node.ts';
import { blockDigest, genesisDigest } from '../../src/consensus/votes.ts';
import { testGenesis, testSigner, USDC } from '../../src/execution/fixtures.ts';
import { createDepositReporter } from '../../src/interop/evm/deposit-quorum.ts';
import type { DepositEvent } from '../../src/interop/evm/deposits.ts';
import { createNodeApplication } from '../../src/node/app.ts';
import { openSqliteStorage } from '../../src/runtime/real/storage.ts';

const root = mkdtempSync(join(tmpdir(), 'palisade-deposit-votes-'));
after(() => rmSync(root, { recursive: true, force: true }));

const CHAIN_ID = 7;
const bridge: ChainBridge = {
  evmChainId: 31_337,
  vault: new Uint8Array(20).fill(0x5a),
  token: new Uint8Array(20).fill(0x70),
};
const ALICE = new Uint8Array(32).fill(0xa1);
const MALLORY = new Uint8Array(32).fill(0x66);

function event(overrides: Partial<DepositEvent> = {}): DepositEvent {
  return {
    nonce: 1n,
    account: ALICE,
    token: bridge.token,
    amount: 300n * BigInt(USDC),
    blockNumber: 12n,
    blockHash: new Uint8Array(32).fill(0x0b),
    transactionHash: new Uint8Array(32).fill(0x0c),
    logIndex: 1,
    ...overrides,
  };
}

test('reports ride on votes into the block; 2f + 1 credit, an invention and a forgery do not', async () => {
  const signers = [0, 1, 2, 3].map((i) => testSigner(`deposit-votes-${i}`));
  const engineGenesis = testGenesis({ chainId: CHAIN_ID });
  const wallClock = () => engineGenesis.startTimeMs + 600_000;
  const apps = signers.map((signer, self) => {
    const storage = openSqliteStorage({ dataDirectory: join(root, `v${self}`) });
    after(() => storage.close());
    let reporter: ReturnType<typeof createDepositReporter> | undefined;
    const app = createNodeApplication({
      chainId: CHAIN_ID,
      validators: signers.map((s) => s.publicKey),
      self,
      engineGenesis,
      assets: [],
      storage,
      wallClock,
      monotonicClock: () => 0,
      observe: () => undefined,
      bridge,
      reportDeposits: (height) => reporter!.report(height),
    });
    reporter = createDepositReporter({
      signer,
      chainId: CHAIN_ID,
      bridge,
      isCredited: (nonce) => app.engine.depositCredited(nonce),
    });
    // Validators 0–2 saw the real deposit; validator 3 invents one of nonce 2 for Mallory.
    reporter.add(self < 3 ? event() : event({ nonce: 2n, account: MALLORY, amount: 10n ** 12n }));
    app.open();
    return app;
  });

  // The votes on the genesis tip carry every validator's extension for height 1.
  const genesis = genesisDigest(CHAIN_ID);
  const extensions = apps.map((app) => app.extension(0, 0, genesis));
  for (const extension of extensions) {
    const composite = VoteExtensionCodec.decode(extension);
    assert.equal(composite.observation.length, 0);
    assert.equal(SignedDepositReportCodec.decode(composite.deposits).body.height, 1);
  }
  assert.deepEqual(apps[0]!.extension(2, 0, genesis), extensions[0], 'the same bytes on every vote');
  // A vote extension carrying another validator's report is refused.
  assert.equal(apps[0]!.verifyExtension(1, 0, 0, genesis, extensions[2]!), false);
  for (const [signer, extension] of extensions.entries())
    for (const [i, app] of apps.entries())
      if (i !== signer) assert.equal(app.verifyExtension(signer, 0, 0, genesis, extension), true);

  const context = { view: 1, height: 1, parentView: 0, parent: genesis, proposer: 0 };
  const payload = await apps[0]!.propose(context);
  assert.ok(payload !== undefined);
  assert.equal(BlockPayloadCodec.decode(payload).deposits.length, 4);
  for (const app of apps.slice(1)) assert.equal(await app.verify(context, payload), true);

  // A proposer raising the amount in a carried report (without the validator's key) is refused.
  const decoded = BlockPayloadCodec.decode(payload);
  const altered = SignedDepositReportCodec.decode(decoded.deposits[1]!);
  altered.body.deposits[0]!.amount *= 100n;
  const forgedPayload = BlockPayloadCodec.encode({
    ...decoded,
    deposits: [decoded.deposits[0]!, SignedDepositReportCodec.encode(altered), ...decoded.deposits.slice(2)],
  });
  const forgedContext = { ...context, view: 2 };
  assert.equal(await apps[1]!.verify(forgedContext, forgedPayload), false);
  assert.equal(apps[1]!.stats().refusedProposals['bad-deposit-report'], 1);

  const block = { ...context, payload };
  const digest = blockDigest(block);
  for (const app of apps)
    await app.finalized({ block, digest, finalization: { kind: 2, view: 1, digest, votes: [] } });
  for (const app of apps) {
    assert.equal(app.engine.account(ALICE)?.balance, 300n * BigInt(USDC));
    assert.equal(app.engine.account(MALLORY), undefined, 'one report is not 2f + 1');
    assert.equal(app.engine.depositCredited(1), true);
    assert.equal(app.engine.depositCredited(2), false);
  }
  assert.deepEqual(apps[1]!.engine.stateRoot(), apps[3]!.engine.stateRoot());
  // Credited: the honest reporters stop reporting it; the inventor still reports its fake.
  const next = apps.map((app) => app.extension(0, 1, digest));
  assert.equal(next[0]!.length, 0);
  assert.equal(
    SignedDepositReportCodec.decode(VoteExtensionCodec.decode(next[3]!).deposits).body.deposits[0]!.nonce,
    2,
  );
});
