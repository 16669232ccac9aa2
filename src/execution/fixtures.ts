/**
 * A ready-made engine genesis and transaction builders, shared by the tests, the benchmark and
 * the devnet: one BTC-like underlying with Deribit-like parameters, a strip of calls and puts, an
 * operator (bridge) key that credits accounts, and deterministic trader keys.
 *
 * Keys here are derived from public strings: they are for tests and the local devnet only.
 */
import {
  type ExecutionAction,
  encodeAction,
  encodeGovernanceAction,
  type GovernanceAction,
  type PlaceOrder,
} from '../codec/execution.ts';
import type { SignedTransaction } from '../codec/transaction.ts';
import { createEd25519Signer, type Ed25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { signTransaction } from '../crypto/transaction.ts';
import { ADAPTIVE_PARAMETER_DEFAULTS } from './adaptive-defaults.ts';
import { type GovernanceConfig, signProposal } from './governance.ts';
import { MS_PER_DAY } from './margin.ts';
import type { Block, EngineGenesis, EngineParameters, SeriesConfig, UnderlyingConfig } from './types.ts';

/** 1 USDC in base units (6 decimals). */
export const USDC = 1_000_000;

/** A signer whose seed is SHA-256 of `label`: reproducible, and therefore never for real funds. */
export function testSigner(label: string): Ed25519Signer {
  return createEd25519Signer(sha256(new TextEncoder().encode(`palisade/test-key/${label}`)));
}

export const DEFAULT_ENGINE_PARAMETERS: EngineParameters = Object.freeze({
  makerFeeBps: 3,
  takerFeeBps: 3,
  feeCapBps: 1250,
  maxOpenOrdersPerAccount: 200,
  marketBandBps: 5000,
  liquidationBandBps: 3000,
  liquidationStepLots: 10,
  liquidationPenaltyBps: 50,
  maxLiquidationStepsPerBlock: 1000,
  settlementWindowMs: 30 * 60_000,
  maxSampleHoldMs: 60_000,
  backstopBandBps: 3000,
  oracleGuardPauseMs: 30_000,
  settlementMinCoveredMs: 5 * 60_000,
  settlementExtensionMs: 30 * 60_000,
  settlementFallbackDelayMs: 60 * 60_000,
  // Half the mark either way (the market-order band), at least 10 ticks so that cheap options trade.
  priceBandBps: 5000,
  priceBandMinTicks: 10,
  maxPositionsPerAccount: 1024,
  maxAccounts: 1_000_000,
  maxSeries: 10_000,
  // 10 USDC: an account record costs the venue state forever, so it costs its owner a deposit.
  minDepositForAccount: 10 * 1_000_000,
  // Ten volatility points an hour: a day's worth of realistic re-marking, never a jump.
  maxVolChangeBpsPerHour: 1000,
  ...ADAPTIVE_PARAMETER_DEFAULTS,
  // No circuit breaker in the shared fixture: its scenarios jump the index by design to reach
  // liquidation and settlement. The breaker's tests, the fuzzer and `palisade stress` switch it on.
  breakerWindowMs: 0,
  // Nor parameters that follow volatility: the fixture's marks and margins are worked by hand.
  autoMaxStepBps: 0,
  // Nor the withdrawal slowdown or the liquidation grace after a guard pause.
  withdrawDrawdownBps: 0,
  liquidationGraceMs: 0,
});

export const BTC: UnderlyingConfig = Object.freeze({
  underlyingId: 1,
  symbol: 'BTC',
  rateBps: 0,
  defaultVolBps: 6000,
  minVolBps: 1,
  maxVolBps: 50_000,
  maxConfidenceBps: 100,
  imBaseBps: 1500,
  imMinBps: 1000,
  mmBps: 750,
  pmSpotMovesBps: Object.freeze([-2000, -1500, -1000, -500, 0, 500, 1000, 1500, 2000]),
  pmInitialMultiplierBps: 12500,
  pmContingencyBps: 200,
});

/** A BTC option of 1 BTC per contract, 0.1-contract lots, a 5 USDC tick. */
export function btcSeries(isCall: boolean, strikeUsdc: number, expiryMs: number): SeriesConfig {
  return {
    underlyingId: 1,
    isCall,
    strike: strikeUsdc * USDC,
    expiryMs,
    tickSize: 5 * USDC,
    lotSizeE6: 100_000,
    multiplierE6: 1_000_000,
  };
}

export interface TestGenesisOptions {
  chainId?: number;
  /** Default: {@link testGovernance} (3-of-5 governors, 2-of-3 guardians, no timelock). */
  governance?: GovernanceConfig;
  startTimeMs?: number;
  traders?: Ed25519Signer[];
  balanceUsdc?: number;
  insuranceFundUsdc?: number;
  series?: SeriesConfig[];
  params?: Partial<EngineParameters>;
  underlying?: Partial<UnderlyingConfig>;
}

export const OPERATOR = testSigner('operator');
/** Five governors, three of whom sign every governance action; the first submits proposals. */
export const GOVERNORS: readonly Ed25519Signer[] = Object.freeze([
  testSigner('governance'),
  ...[2, 3, 4, 5].map((i) => testSigner(`governor-${i}`)),
]);
export const GOVERNANCE = GOVERNORS[0]!;
/** Three guardians, two of whom may halt markets (lifting a halt takes three governors). */
export const GUARDIANS: readonly Ed25519Signer[] = Object.freeze(
  [1, 2, 3].map((i) => testSigner(`guardian-${i}`)),
);

/**
 * The fixture's governance: 3-of-5 governors, 2-of-3 guardians. The timelock is 0, so that tests of
 * what a governance action does see it in the block that carries it; tests of the timelock (and
 * the devnet) set one.
 */
export function testGovernance(options: { timelockMs?: number } = {}): GovernanceConfig {
  return {
    governors: GOVERNORS.map((signer) => Uint8Array.from(signer.publicKey)),
    threshold: 3,
    guardians: GUARDIANS.map((signer) => Uint8Array.from(signer.publicKey)),
    guardianThreshold: 2,
    timelockMs: options.timelockMs ?? 0,
  };
}

let nextProposalId = 1;

/**
 * A governance action wrapped in a proposal signed by `signers` (default: the first three
 * governors), ready for {@link actionTransaction}. Ids count up per process unless given.
 * @example txs.next(GOVERNANCE, governed({ kind: 'setMarkVol', value: { seriesId: 1, volBps: 6000 } }))
 */
export function governed(
  action: GovernanceAction,
  options: {
    signers?: readonly Ed25519Signer[];
    proposalId?: number;
    expiryMs?: number;
    chainId?: number;
  } = {},
): ExecutionAction {
  const proposalId = options.proposalId ?? nextProposalId++;
  const expiryMs = options.expiryMs ?? Date.UTC(2026, 0, 1) + 20 * MS_PER_DAY;
  const bytes = encodeGovernanceAction(action);
  const signers = options.signers ?? GOVERNORS.slice(0, 3);
  return {
    kind: 'governanceProposal',
    value: {
      proposalId,
      expiryMs,
      action: bytes,
      signatures: signers.map((signer) =>
        signProposal(signer, options.chainId ?? 7, { proposalId, expiryMs, action: bytes }),
      ),
    },
  };
}

/**
 * A genesis with one BTC underlying and, unless given, calls and puts at 50k–70k expiring in
 * 7 and 30 days.
 */
export function testGenesis(options: TestGenesisOptions = {}): EngineGenesis {
  const startTimeMs = options.startTimeMs ?? Date.UTC(2026, 0, 1);
  const strikes = [50_000, 55_000, 60_000, 65_000, 70_000];
  const series =
    options.series ??
    [7, 30].flatMap((days) =>
      strikes.flatMap((strike) =>
        [true, false].map((isCall) => btcSeries(isCall, strike, startTimeMs + days * MS_PER_DAY)),
      ),
    );
  return {
    chainId: options.chainId ?? 7,
    operator: OPERATOR.publicKey,
    governance: options.governance ?? testGovernance(),
    startTimeMs,
    params: { ...DEFAULT_ENGINE_PARAMETERS, ...options.params },
    underlyings: [{ ...BTC, ...options.underlying }],
    series,
    accounts: (options.traders ?? []).map((trader) => ({
      publicKey: trader.publicKey,
      balance: BigInt(options.balanceUsdc ?? 1_000_000) * BigInt(USDC),
    })),
    insuranceFund: BigInt(options.insuranceFundUsdc ?? 0) * BigInt(USDC),
  };
}

/** Signs `action` as the payload of a transaction. */
export function actionTransaction(
  signer: Ed25519Signer,
  nonce: number,
  action: ExecutionAction,
  options: { chainId?: number; expiryHeight?: number } = {},
): SignedTransaction {
  return signTransaction(signer, {
    chainId: options.chainId ?? 7,
    nonce,
    expiryHeight: options.expiryHeight ?? 1_000_000_000,
    payload: encodeAction(action),
  });
}

/** Keeps nonces per signer so that callers can just say what to do. */
export function createTransactionBuilder(chainId = 7) {
  const nonces = new Map<Ed25519Signer, number>();
  return {
    next(signer: Ed25519Signer, action: ExecutionAction): SignedTransaction {
      const nonce = nonces.get(signer) ?? 0;
      nonces.set(signer, nonce + 1);
      return actionTransaction(signer, nonce, action, { chainId });
    },
    /** Forgets a nonce that the engine did not consume (a rejected transaction). */
    rewind(signer: Ed25519Signer): void {
      nonces.set(signer, (nonces.get(signer) ?? 1) - 1);
    },
  };
}

export function limitOrder(
  seriesId: number,
  side: 'buy' | 'sell',
  priceUsdc: number,
  contracts: number,
  extra: Partial<PlaceOrder> = {},
): ExecutionAction {
  return {
    kind: 'placeOrder',
    value: {
      seriesId,
      side: side === 'buy' ? 0 : 1,
      kind: 0,
      timeInForce: 0,
      postOnly: false,
      reduceOnly: false,
      price: Math.round(priceUsdc * USDC),
      sizeE6: Math.round(contracts * 1_000_000),
      clientOrderId: 0,
      ...extra,
    },
  };
}

/** xorshift32: a tiny seeded generator so workloads replay bit for bit (not for cryptography). */
export function createSeededRandom(seed: number): { next(): number; below(n: number): number } {
  let state = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  return { next, below: (n: number) => next() % n };
}

export interface MixedWorkloadOptions {
  seed: number;
  traders: Ed25519Signer[];
  seriesIds: number[];
  transactionsPerBlock: number;
  blockMs?: number;
  chainId?: number;
  /** Starting index price in USDC. */
  spotUsdc?: number;
  /** Largest index move per block, in basis points. */
  moveBps?: number;
}

/**
 * A seeded stream of blocks of mixed trading: limit orders near the mark, IOC and post-only
 * orders, cancels of open orders, cancel-alls, withdrawals and operator deposits, with the index
 * taking a random walk and now and then going stale. Nonces come from the engine's state.
 */
export function createMixedWorkload(options: MixedWorkloadOptions) {
  const random = createSeededRandom(options.seed);
  const blockMs = options.blockMs ?? 1000;
  const moveBps = options.moveBps ?? 50;
  let spot = (options.spotUsdc ?? 60_000) * USDC;
  return {
    nextBlock(engine: {
      height: number;
      timeMs: number;
      account(key: Uint8Array): { nonce: number; openOrders: Array<{ orderId: number }> } | undefined;
      series(): Array<{ seriesId: number; markPrice?: bigint }>;
    }): Block {
      spot += Math.trunc((spot * (random.below(2 * moveBps + 1) - moveBps)) / 10_000);
      spot = Math.max(spot, 1000 * USDC);
      const stale = random.below(50) === 0;
      const marks = new Map(engine.series().map((s) => [s.seriesId, s.markPrice]));
      const used = new Map<Ed25519Signer, number>();
      const transactions: SignedTransaction[] = [];
      for (let i = 0; i < options.transactionsPerBlock; i++) {
        const signer = options.traders[random.below(options.traders.length)]!;
        const view = engine.account(signer.publicKey);
        const nonce = (view?.nonce ?? 0) + (used.get(signer) ?? 0);
        const roll = random.below(100);
        let action: ExecutionAction;
        if (roll < 70) {
          const seriesId = options.seriesIds[random.below(options.seriesIds.length)]!;
          const mark = Number(marks.get(seriesId) ?? 1000n * BigInt(USDC)) / USDC;
          const offsetTicks = random.below(41) - 20;
          const price = Math.max(5, Math.round(mark / 5) * 5 + offsetTicks * 5);
          action = limitOrder(
            seriesId,
            random.below(2) === 0 ? 'buy' : 'sell',
            price,
            (1 + random.below(10)) / 10,
            {
              timeInForce: random.below(4) === 0 ? 1 : 0,
              clientOrderId: random.below(3) === 0 ? 1 + random.below(1_000_000) : 0,
            },
          );
        } else if (roll < 88 && view !== undefined && view.openOrders.length > 0) {
          action = {
            kind: 'cancelOrder',
            value: { orderId: view.openOrders[random.below(view.openOrders.length)]!.orderId },
          };
        } else if (roll < 92) {
          action = { kind: 'cancelAll', value: { seriesId: 0 } };
        } else if (roll < 96) {
          action = {
            kind: 'withdraw',
            value: {
              amount: (1 + random.below(500)) * USDC,
              recipient: new Uint8Array(20),
              token: new Uint8Array(20),
            },
          };
        } else {
          const target = options.traders[random.below(options.traders.length)]!;
          const operatorView = engine.account(OPERATOR.publicKey);
          const operatorNonce = (operatorView?.nonce ?? 0) + (used.get(OPERATOR) ?? 0);
          used.set(OPERATOR, (used.get(OPERATOR) ?? 0) + 1);
          transactions.push(
            actionTransaction(
              OPERATOR,
              operatorNonce,
              {
                kind: 'deposit',
                value: { account: target.publicKey, amount: (1 + random.below(5000)) * USDC },
              },
              { chainId: options.chainId ?? 7 },
            ),
          );
          continue;
        }
        used.set(signer, (used.get(signer) ?? 0) + 1);
        transactions.push(actionTransaction(signer, nonce, action, { chainId: options.chainId ?? 7 }));
      }
      return {
        height: engine.height + 1,
        timeMs: engine.timeMs + blockMs,
        transactions,
        oracle: [
          { underlyingId: 1, price: spot, confidence: 0, publishTimeMs: engine.timeMs + blockMs, stale },
        ],
      };
    },
  };
}
