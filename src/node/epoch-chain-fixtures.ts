/**
 * An honest chain with validator-set epochs, for the readers that must follow it: the light client
 * (light-client.test.ts) and state sync (state-sync-epochs.test.ts). Blocks are executed by the
 * validators' own block rule from the test genesis, each finalized by the first quorum of the set
 * in force, a governance `ChangeValidators` optionally executed at a height, and the node's own
 * recorder keeps every boundary's validator-set proof.
 */
import assert from 'node:assert/strict';
import { chainStateRoot, createChainState, executeBlock, stateRootHeightFor } from '../chain/block-rule.ts';
import { type Block, BlockCodec, VoteKind } from '../codec/consensus.ts';
import { VALIDATOR_CHANGE } from '../codec/execution.ts';
import { BlockPayloadCodec } from '../codec/node.ts';
import type { AggregatePriceValue } from '../codec/oracle.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { certificateFromVotes } from '../consensus/certificate.ts';
import { createValidatorSet } from '../consensus/validators.ts';
import { blockDigest, genesisDigest, signVote } from '../consensus/votes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { accountStateKey } from '../execution/engine.ts';
import {
  createTransactionBuilder,
  GOVERNANCE,
  governed,
  testGenesis,
  testGovernance,
  testSigner,
} from '../execution/fixtures.ts';
import { SimStorage } from '../runtime/sim/storage.ts';
import type { StateRootOpening } from './light-client.ts';
import { createValidatorSetProofs } from './validator-set-proofs.ts';
import {
  type AccountRead,
  accountToJson,
  type BlockDetail,
  certificateToJson,
  hex,
  stateProofToJson,
} from './view.ts';

/** The genesis validators of the fixture chain. */
export const validators = Array.from({ length: 4 }, (_, i) => testSigner(`light-validator-${i}`));
/** A funded trader whose account proofs the chain records. */
export const trader = testSigner('light-trader');

/**
 * An honest chain: each block finalized by the first quorum of the set in force (validators 0..2 of
 * the genesis four by default), with the node state roots it committed. With `epochBlocks` the
 * genesis commits a validator set and `change` (a governance ChangeValidators) executes at
 * `changeAtHeight`; the node's own recorder keeps each boundary's validator-set proof.
 */
export function honestChain(
  blocks: number,
  options: {
    signers?: readonly Ed25519Signer[];
    epochBlocks?: number;
    change?: { atHeight: number; op: 'add' | 'remove'; signer: Ed25519Signer };
  } = {},
) {
  const members = options.signers ?? validators;
  const genesis = {
    ...testGenesis({ traders: [trader], governance: testGovernance() }),
    ...(options.epochBlocks === undefined
      ? {}
      : {
          validatorSet: {
            epochBlocks: options.epochBlocks,
            members: members.map((signer, i) => ({
              publicKey: signer.publicKey,
              p2p: `127.0.0.1:${9100 + i}`,
              api: `http://127.0.0.1:${8100 + i}`,
            })),
          },
        }),
  };
  const chainId = genesis.chainId;
  const chain = createChainState({
    chainId,
    validators: members.map((signer) => signer.publicKey),
    assets: [],
    engineGenesis: genesis,
  });
  const proofs = createValidatorSetProofs(
    new SimStorage(),
    () => chain.engine,
    () => chain.priceBook.latest().values(),
  );
  proofs.record();
  const everyone = [...members, ...(options.change === undefined ? [] : [options.change.signer])];
  let signing: Ed25519Signer[] = [...members];
  const txs = createTransactionBuilder(chainId);
  const roots = new Map<number, Uint8Array>([[0, chainStateRoot(chain)]]);
  const openings = new Map<number, StateRootOpening>();
  const reads = new Map<number, AccountRead>();
  const record = (height: number) => {
    openings.set(height, {
      engineStateRoot: chain.engine.stateRoot(),
      prices: [...chain.priceBook.latest().values()] as AggregatePriceValue[],
    });
    const key = accountStateKey(trader.publicKey);
    const account = chain.engine.account(trader.publicKey);
    const value = chain.engine.stateValue(key);
    reads.set(height, {
      account: account === undefined ? null : accountToJson(account),
      proof: {
        height,
        stateRoot: hex(chain.engine.stateRoot()),
        key: hex(key),
        value: value === undefined ? null : hex(value),
        proof: stateProofToJson(chain.engine.prove(key)),
      },
    });
  };
  record(0);
  const details: BlockDetail[] = [];
  const blockOf = new Map<number, Block>();
  let tip = { view: 0, digest: genesisDigest(chainId) };
  for (let height = 1; height <= blocks; height++) {
    const stateRootHeight = stateRootHeightFor(height);
    const change = options.change;
    const transactions =
      change !== undefined && change.atHeight === height
        ? [
            SignedTransactionCodec.encode(
              txs.next(
                GOVERNANCE,
                governed({
                  kind: 'changeValidators',
                  value: {
                    op: VALIDATOR_CHANGE[change.op],
                    publicKey: change.signer.publicKey,
                    p2p: new TextEncoder().encode(change.op === 'add' ? '127.0.0.1:9199' : ''),
                    api: new TextEncoder().encode(change.op === 'add' ? 'http://127.0.0.1:8199' : ''),
                  },
                }),
              ),
            ),
          ]
        : [];
    const payload = BlockPayloadCodec.encode({
      envelopes: [],
      batchKeys: [],
      earlyShares: [],
      eonActivations: [],
      timeMs: genesis.startTimeMs + height * 1000,
      transactions,
      observations: [],
      deposits: [],
      stateRootHeight,
      stateRoot: roots.get(stateRootHeight)!,
    });
    const executed = executeBlock(chain, { height, payload });
    if (transactions.length > 0) assert.equal(executed.result.results[0]!.status, 'OK');
    roots.set(height, executed.root);
    record(height);
    proofs.record();
    const block: Block = {
      view: tip.view + 1,
      height,
      parentView: tip.view,
      parent: tip.digest,
      proposer: (tip.view + 1) % signing.length,
      payload,
    };
    blockOf.set(height, block);
    // Block `height` is signed by the set in force before it executed (a boundary block by the old set).
    const quorum = createValidatorSet(signing.map((signer) => signer.publicKey)).quorum;
    const indices = Array.from({ length: quorum }, (_, i) => i);
    details.push(finalized(chainId, block, signing.slice(0, quorum), indices));
    tip = { view: block.view, digest: blockDigest(block) };
    const committed = chain.engine.validatorSet();
    if (committed !== undefined)
      signing = committed.members.map(
        (member) => everyone.find((signer) => hex(signer.publicKey) === member.publicKey)!,
      );
  }
  return { chainId, details, openings, reads, roots, proofs, blockOf, signing: () => signing };
}

export function finalized(
  chainId: number,
  block: Block,
  signers: readonly Ed25519Signer[],
  indices: readonly number[],
): BlockDetail {
  const digest = blockDigest(block);
  const votes = signers.map((signer, i) =>
    signVote(signer, chainId, {
      kind: VoteKind.finalize,
      view: block.view,
      digest,
      signerIndex: indices[i]!,
    }),
  );
  return {
    height: block.height,
    hash: hex(digest),
    parentHash: hex(block.parent),
    view: block.view,
    proposer: block.proposer,
    timeMs: 0,
    stateRoot: hex(new Uint8Array(32)),
    transactions: [],
    finalization: certificateToJson(certificateFromVotes(VoteKind.finalize, block.view, digest, votes)),
    encoded: hex(BlockCodec.encode(block)),
    descendants: [],
  };
}
