/**
 * `front-runner` (whole-node mode): a Byzantine leader that reads the transactions its mempool
 * selected for its proposal and rewrites the list before proposing — the baseline the fair-
 * ordering issue will drive to zero. Its consensus messages are honest; only its payloads lie.
 * Strategies, one per run from the seed:
 *   sandwich  ahead of every large order (≥ 0.3 contract) it inserts its own trader's order on
 *             the same side at the victim's limit, taking the resting liquidity, and an order
 *             on the other side at that limit for the victim to fill against; a cancel-all after;
 *   censor    drops every transaction of one honest taker;
 *   reorder   puts the transactions in reverse order (cancels after the orders they meant to
 *             precede, later nonces first).
 * Its trader is a funded genesis account; its profit (balance plus positions at the mark, less its
 * deposit) is reported in the run summary beside how many orders it front-ran and dropped.
 */

import { decodeAction, type ExecutionAction, encodeAction } from '../../codec/execution.ts';
import { BlockPayloadCodec } from '../../codec/node.ts';
import { type SignedTransaction, SignedTransactionCodec } from '../../codec/transaction.ts';
import { bytesEqual } from '../../crypto/bytes.ts';
import type { Ed25519Signer } from '../../crypto/ed25519.ts';
import { signTransaction } from '../../crypto/transaction.ts';
import type { Engine } from '../../execution/engine.ts';

export type FrontRunStrategy = 'sandwich' | 'censor' | 'reorder';
export const FRONT_RUN_STRATEGIES: readonly FrontRunStrategy[] = Object.freeze([
  'sandwich',
  'censor',
  'reorder',
]);

/** Orders of at least this size (contracts × 10⁶) are worth front-running. */
export const LARGE_ORDER_E6 = 300_000;

export interface FrontRunStats {
  proposals: number;
  frontRun: number;
  censored: number;
  reordered: number;
}

export interface FrontRunner {
  readonly signer: Ed25519Signer;
  readonly strategy: FrontRunStrategy;
  readonly stats: FrontRunStats;
  /** The rewritten payload; the original when there is nothing to gain or it does not decode. */
  rewrite(payload: Uint8Array, engine: Engine): Uint8Array;
}

export function createFrontRunner(options: {
  signer: Ed25519Signer;
  chainId: number;
  strategy: FrontRunStrategy;
  /** The honest taker whose transactions `censor` drops. */
  censored: Uint8Array;
}): FrontRunner {
  const { signer, chainId, strategy } = options;
  const stats: FrontRunStats = { proposals: 0, frontRun: 0, censored: 0, reordered: 0 };
  /** Nonces it has used in proposals not yet executed, by the engine nonce they started from. */
  let next: { base: number; nonce: number } | undefined;
  const own = (engine: Engine, action: ExecutionAction): Uint8Array => {
    const base = engine.account(signer.publicKey)?.nonce ?? 0;
    if (next === undefined || next.base !== base || next.nonce < base) next = { base, nonce: base };
    const transaction = signTransaction(signer, {
      chainId,
      nonce: next.nonce++,
      expiryHeight: engine.height + 1000,
      payload: encodeAction(action),
    });
    return SignedTransactionCodec.encode(transaction);
  };
  return {
    signer,
    strategy,
    stats,
    rewrite(bytes, engine) {
      let payload: ReturnType<typeof BlockPayloadCodec.decode>;
      try {
        payload = BlockPayloadCodec.decode(bytes);
      } catch {
        return bytes;
      }
      stats.proposals++;
      const decoded: { bytes: Uint8Array; transaction: SignedTransaction | undefined }[] =
        payload.transactions.map((encoded) => {
          try {
            return { bytes: encoded, transaction: SignedTransactionCodec.decode(encoded) };
          } catch {
            return { bytes: encoded, transaction: undefined };
          }
        });
      let transactions: Uint8Array[];
      if (strategy === 'reorder') {
        transactions = decoded.map((entry) => entry.bytes).reverse();
        if (transactions.length > 1) stats.reordered++;
      } else if (strategy === 'censor') {
        transactions = [];
        for (const entry of decoded) {
          if (
            entry.transaction !== undefined &&
            bytesEqual(entry.transaction.body.signer, options.censored)
          ) {
            stats.censored++;
            continue;
          }
          transactions.push(entry.bytes);
        }
      } else {
        transactions = [];
        let inserted = false;
        for (const entry of decoded) {
          const action = actionOf(entry.transaction);
          if (
            action?.kind === 'placeOrder' &&
            action.value.sizeE6 >= LARGE_ORDER_E6 &&
            !bytesEqual(entry.transaction!.body.signer, signer.publicKey)
          ) {
            const victim = action.value;
            const opposite = victim.side === 0 ? 1 : 0;
            // Take what rests up to the victim's limit, then offer it back at that limit.
            transactions.push(
              own(engine, {
                kind: 'placeOrder',
                value: { ...victim, timeInForce: 1, postOnly: false, reduceOnly: false, clientOrderId: 0 },
              }),
            );
            transactions.push(
              own(engine, {
                kind: 'placeOrder',
                value: {
                  ...victim,
                  side: opposite,
                  timeInForce: 0,
                  postOnly: false,
                  reduceOnly: false,
                  clientOrderId: 0,
                },
              }),
            );
            transactions.push(entry.bytes);
            stats.frontRun++;
            inserted = true;
            continue;
          }
          transactions.push(entry.bytes);
        }
        if (inserted) transactions.push(own(engine, { kind: 'cancelAll', value: { seriesId: 0 } }));
      }
      return BlockPayloadCodec.encode({ ...payload, transactions });
    },
  };
}

function actionOf(transaction: SignedTransaction | undefined): ExecutionAction | undefined {
  if (transaction === undefined) return undefined;
  try {
    return decodeAction(transaction.body.payload);
  } catch {
    return undefined;
  }
}
