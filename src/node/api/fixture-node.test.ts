/**
 * The API's test node runs the validators' block rule: every block it finalizes, replayed by a
 * validator's application (`createNodeApplication`) from the same genesis, gives the same
 * outcomes, the same engine state root and the same node state root at every height. Before the
 * block rule was one function (src/chain/block-rule.ts) the fixture built its own kind of block
 * (a bare concatenation of transactions, no time, no observations) and executed it with its own
 * copy of the rule, so a validator executing the fixture's blocks saw empty blocks.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BlockCodec } from '../../codec/consensus.ts';
import { BlockPayloadCodec } from '../../codec/node.ts';
import { SignedTransactionCodec } from '../../codec/transaction.ts';
import { actionTransaction, limitOrder, testGenesis } from '../../execution/fixtures.ts';
import { openSqliteStorage } from '../../runtime/real/storage.ts';
import { createNodeApplication } from '../app.ts';
import { hex } from '../view.ts';
import { createFixtureNode } from './fixture-node.ts';

const root = mkdtempSync(join(tmpdir(), 'palisade-fixture-rule-'));
after(() => rmSync(root, { recursive: true, force: true }));

test("a validator replaying the fixture node's blocks reaches the same roots and outcomes at every height", async () => {
  const node = createFixtureNode();
  const genesis = testGenesis({ traders: [...node.traders] });
  const submit = async (trader: number, nonce: number, side: 'buy' | 'sell', price: number) => {
    const bytes = SignedTransactionCodec.encode(
      actionTransaction(node.traders[trader]!, nonce, limitOrder(1, side, price, 1)),
    );
    assert.equal((await node.view.submitTransaction(bytes)).status, 'accepted');
  };
  const details = [node.finalizeBlock()];
  await submit(0, 0, 'sell', 10_000);
  details.push(node.finalizeBlock());
  await submit(1, 0, 'buy', 10_000);
  await submit(2, 0, 'buy', 9_500);
  details.push(node.finalizeBlock({ priceUsdc: 60_500 }));
  await submit(0, 1, 'sell', 9_500);
  details.push(node.finalizeBlock({ priceUsdc: 61_000 }));
  // Past the state-root lag, so that blocks commit to node state roots after trading heights.
  for (let i = 0; i < 18; i++) details.push(node.finalizeBlock({ priceUsdc: 61_000 + 10 * i }));
  assert.ok(details.some((detail) => detail.transactions.some((outcome) => (outcome.filledLots ?? 0) > 0)));

  const storage = openSqliteStorage({ dataDirectory: join(root, 'replay') });
  const app = createNodeApplication({
    chainId: node.chainId,
    validators: node.validators.map((signer) => signer.publicKey),
    self: 0,
    engineGenesis: genesis,
    assets: [{ assetId: 1, symbol: 'BTC', decimals: 6, underlyingId: 1 }],
    storage,
    wallClock: () => node.engine.timeMs,
    monotonicClock: () => 0,
    observe: () => undefined,
  });
  app.open();
  for (const detail of details) {
    const block = BlockCodec.decode(Buffer.from(detail.encoded.slice(2), 'hex'));
    await app.finalized({
      block,
      digest: Buffer.from(detail.hash.slice(2), 'hex'),
      finalization: {
        kind: 2,
        view: block.view,
        digest: Buffer.from(detail.hash.slice(2), 'hex'),
        votes: [],
      },
    });
    const payload = BlockPayloadCodec.decode(block.payload);
    assert.equal(
      hex(payload.stateRoot),
      hex(app.stateRootAt(payload.stateRootHeight)!),
      `node state root after height ${payload.stateRootHeight}`,
    );
    const summary = app.summary(detail.height);
    assert.ok(summary, `height ${detail.height} applied`);
    assert.equal(summary.stateRoot, detail.stateRoot, `engine state root at height ${detail.height}`);
    assert.deepEqual(summary.transactions, detail.transactions, `outcomes at height ${detail.height}`);
    assert.equal(summary.timeMs, detail.timeMs);
  }
  assert.equal(hex(app.engine.stateRoot()), hex(node.engine.stateRoot()));
  storage.close();
});
