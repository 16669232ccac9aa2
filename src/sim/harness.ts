/**
 * One simulated run: n validators on a simulated network, driven by one seed. The seed fixes the
 * keys, every link delay and loss, every partition, crash and torn write, and every adversary's
 * choice, so a run replays bit for bit; its trace hash (SHA-256 over every delivered message
 * with its time and endpoints) proves it.
 *
 * Byzantine validators are the last `b` indices, so leadership rotates through honest and
 * Byzantine validators alike. Above f Byzantine validators the
 * simulator does not pretend: they collude as twins that split the honest validators into two
 * partitioned halves, the strongest attack, and the run must show a safety violation or a halt.
 *
 * Two compositions run under the same faults: the consensus-only one (a hash-chain application,
 * fast) and, with `node`, the whole node (src/sim/whole-node.ts): every validator runs the
 * validators' own application — mempool, the block rule, oracle observations on votes — and its
 * price signer (src/node/price-signing.ts: DKG, FROST sessions, announcements, its key files on
 * the simulated validator's disk) over this run's storage, clock and network, with a seeded
 * market and traders, and the venue's invariants are checked beside the consensus ones; the state
 * agreement there is on the node state root. Price-signing messages reach the signer, the rest
 * consensus, as src/node/node.ts routes them; a consensus adversary's wrapper sees only the latter.
 */
import { createHash } from 'node:crypto';
import type { ChainAsset } from '../chain/block-rule.ts';
import { createKvBlockStore } from '../chain/block-store.ts';
import { ProposalCodec, SyncResponseCodec } from '../codec/consensus.ts';
import { SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import { peekTag } from '../codec/message.ts';
import { BlockPayloadCodec, CertificateAnnouncementCodec } from '../codec/node.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import type { Application } from '../consensus/engine.ts';
import {
  createEngine,
  type EngineTimeouts,
  MAX_TRACKED_VIEWS,
  MAX_VIEWS_AHEAD,
  type SimplexEngine,
} from '../consensus/engine.ts';
import { DEFAULT_REQUEST_BUDGET } from '../consensus/request-budget.ts';
import { createValidatorSet, type ValidatorSet } from '../consensus/validators.ts';
import type { SignatureVerifier } from '../consensus/votes.ts';
import { toHex } from '../crypto/bytes.ts';
import type { DomainTagValue } from '../crypto/domain.ts';
import { createEd25519Signer, type Ed25519Signer, verifyInDomain } from '../crypto/ed25519.ts';
import type { Engine } from '../execution/engine.ts';
import type { EngineGenesis } from '../execution/types.ts';
import { SigningAttemptShareCodec } from '../interop/signing-codec.ts';
import { type SimEndpoint, SimNetwork } from '../runtime/sim/network.ts';
import { createSimRng, type SimRng } from '../runtime/sim/rng.ts';
import { Scheduler, type SimClock } from '../runtime/sim/scheduler.ts';
import { SimStorage } from '../runtime/sim/storage.ts';
import type { Network, PeerId } from '../runtime/types.ts';
import {
  createFrontRunner,
  FRONT_RUN_STRATEGIES,
  FrontRunEdge,
  type FrontRunner,
  type FrontRunStats,
  type FrontRunStrategy,
} from './adversaries/front-runner.ts';
import type { GrieferStats } from './adversaries/griefer.ts';
import { ADVERSARIES, type AdversaryName, MIX_ADVERSARY_NAMES } from './adversaries/index.ts';
import { SimApplication } from './app.ts';
import { CertificateLiveness, type CertificateSummary } from './certificate-liveness.ts';
import { COLLUDE_STRATEGIES, COLLUDERS, type ColludeStats, createColluders } from './colluders.ts';
import { SIM_EON, simEonKeyset } from './eon-keyset.ts';
import { InvariantChecker, type Violation } from './invariants.ts';
import { CALM_LINK, LIVENESS_BLOCKS, LIVENESS_WINDOW_MS, type Profile } from './profiles.ts';
import { FairValueLedger } from './redteam/fair-value.ts';
import {
  CAPACITY_REFUSALS,
  createSimMarket,
  type HonestRange,
  honestRangeOf,
  LIE_STRATEGIES,
  NO_ACCOUNT_RATE_LIMIT,
  NO_PRICE_BAND,
  SIM_ASSET,
  SIM_PRICE_DOMAIN,
  type SimApplied,
  type SimMarketWorld,
  type SimNode,
  type SimNodeFactory,
  type SimPriceSigning,
  simPriceSigning,
  VenueChecker,
  WHOLE_NODE_LIVENESS_BLOCKS,
} from './whole-node.ts';

export const SIM_CHAIN_ID = 0x5a11;

/** Timers sized for the simulated 10 ms links: Simplex's 2Δ and 3Δ with margin for jitter. */
export const SIM_TIMEOUTS: EngineTimeouts = Object.freeze({
  leaderMs: 60,
  notarizationMs: 100,
  nullifyRetryMs: 100,
  syncRetryMs: 60,
});

/** How often honest validators' caches are checked against their bounds (virtual time). */
const CACHE_CHECK_MS = 250;
/** Blocks beyond one per view above the finalized tip that a cache may hold (the tip, forks). */
const CACHE_BLOCKS_SLACK = 8;

function isProposal(message: Uint8Array): boolean {
  try {
    return peekTag(message) === ProposalCodec.tag;
  } catch {
    return false;
  }
}

/** The signer of an encoded transaction (lowercase hex), or '' when it does not decode. */
function signerHex(bytes: Uint8Array): string {
  try {
    return toHex(SignedTransactionCodec.decode(bytes).body.signer);
  } catch {
    return '';
  }
}

function isSyncResponse(message: Uint8Array): boolean {
  try {
    return peekTag(message) === SyncResponseCodec.tag;
  } catch {
    return false;
  }
}

/**
 * Bugs put in on purpose, to show an invariant catches each: 'finalize-after-nullify' in honest
 * consensus engines; 'no-signing-retry' (price signing never retries an attempt); 'no-price-band'
 * (whole node: the genesis's price band removed, `NO_PRICE_BAND`); 'no-observation-wait' (whole
 * node: a proposer does not wait for fresh observations, the defence against oracle-liar's stale
 * lie); 'no-gossip' (whole node: a trader's transaction reaches one validator's mempool, the
 * highest-numbered one that is up, instead of all of them: the defence against a censoring leader);
 * 'admit-unfunded' (whole node: the mempool admits keys without an account, so the griefer's fresh
 * keys spend the admission budget honest traders share: no-crowding-out catches it); 'no-rate-limit'
 * (whole node: no per-account rate limit, so the griefer's funded account alone spends that budget).
 */
export const MUTATIONS = [
  'finalize-after-nullify',
  'no-signing-retry',
  'no-price-band',
  'no-observation-wait',
  'no-gossip',
  'admit-unfunded',
  'no-rate-limit',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** Events one run may execute; a run that needs more has a livelock and fails. */
export const MAX_EVENTS_PER_RUN = 2_000_000;

export interface RunOptions {
  seed: number;
  validators: number;
  /** Byzantine validators; undefined takes the profile's default (f or 0). */
  byzantine?: number | undefined;
  profile: Profile;
  /**
   * A bug put in on purpose, to show an invariant catches it: 'finalize-after-nullify' in honest
   * consensus engines; 'no-signing-retry' gives every price signer an attempt deadline longer than
   * the run, so a signing attempt whose chosen signers withhold is never retried.
   */
  mutation?: Mutation | undefined;
  /** Overrides the profile's liveness target (blocks after the heal). */
  livenessBlocks?: number | undefined;
  /** Runs the whole node this factory builds for every validator instead of the hash chain. */
  node?: SimNodeFactory | undefined;
  /** A scripted world in place of the seeded market and its traders (whole node only). */
  scenario?: SimScenario | undefined;
}

/**
 * A scripted world for a whole-node run, in place of the seeded market and its traders: the red
 * team's network venue (src/sim/redteam/network-venue.ts) plays an incident through it, every
 * transaction sent to the validators' mempools, ordered by consensus and executed by the block
 * rule. The script runs once the network has healed; the run then needs its liveness blocks
 * (with fresh marks judged over them) and keeps every invariant, as any whole-node run.
 */
export interface SimScenario {
  readonly engineGenesis: EngineGenesis;
  readonly assets: readonly ChainAsset[];
  /** Keys (hex) of the honest traders: market-liveness counts their accepted orders. */
  readonly honestTraders: ReadonlySet<string>;
  /** Validator `index`'s signed observation for `height` at wall time `wallMs` (undefined: none). */
  observe(index: number, signer: Ed25519Signer, height: number, wallMs: number): Uint8Array | undefined;
  /** Added to every validator's wall clock: the script's block time runs ahead of the network's. */
  clockOffsetMs(): number;
  drive(control: SimControl): Promise<void>;
}

/** What a scenario's script may do with the running simulation. */
export interface SimControl {
  /** Virtual ms since the run began. */
  now(): number;
  /** Sends one transaction to every validator that is up: how many admitted it, and a refusal code. */
  submit(bytes: Uint8Array): { admitted: number; code: string | undefined };
  /** The engine of the honest validator the venue invariants follow. */
  engine(): Engine | undefined;
  /** Every block that validator finalizes from now on (replays excluded), after the venue checks. */
  onApplied(listener: (applied: SimApplied) => void): void;
  /** Runs the simulation until `done()` holds or `maxMs` more virtual ms pass; whether it held. */
  run(done: () => boolean, maxMs: number): Promise<boolean>;
}

/**
 * What the front-runner did and made, in USDC: `profitUsdc` is its balance plus its positions at
 * the honest mark at the end, less its deposit (what it could withdraw after closing at the mark);
 * `edgeUsdc` the value its fills took at the mark of their block, net of its fees (`FrontRunEdge`).
 */
export interface FrontRunSummary extends FrontRunStats {
  strategy: FrontRunStrategy;
  profitUsdc: number;
  edgeUsdc: number;
  fills: number;
  /** What the orders it sandwiched (read or guessed) paid it beyond the honest mark, and over how many fills. */
  takenFromVictimsUsdc: number;
  victimFills: number;
}

function frontRunnerSummary(
  frontRunner: FrontRunner,
  market: SimMarketWorld,
  engine: NonNullable<Instance['node']>['engine'],
  edge: FrontRunEdge,
): FrontRunSummary {
  const key = toHex(frontRunner.signer.publicKey);
  const deposit =
    market.engineGenesis.accounts.find((entry) => toHex(entry.publicKey) === key)?.balance ?? 0n;
  const account = engine.account(frontRunner.signer.publicKey);
  let value = account?.balance ?? 0n;
  for (const position of account?.positions ?? []) {
    const series = engine.series().find((entry) => entry.seriesId === position.seriesId);
    value +=
      (BigInt(position.lots) * BigInt(series?.lotSizeE6 ?? 0) * (series?.markPrice ?? 0n)) / 1_000_000n;
  }
  return {
    strategy: frontRunner.strategy,
    ...frontRunner.stats,
    profitUsdc: Number(value - deposit) / 1e6,
    edgeUsdc: Number(edge.edge) / 1e6,
    fills: edge.fills,
    takenFromVictimsUsdc: Number(edge.taken) / 1e6,
    victimFills: edge.victimFills,
  };
}

/**
 * Fair ordering in a whole-node run, on the honest validator the venue invariants follow: orders
 * the takers sealed and some validator admitted to its envelope pool, envelopes blocks included
 * (fee paid, nonce reserved), encrypted orders executed, and for every batch opened the blocks from
 * its block (final when it executed) to the block that executed its orders.
 */
export interface FairOrderingSummary {
  sealed: number;
  pooled: number;
  included: number;
  executed: number;
  batchesOpened: number;
  finalityToExecutionBlocks: { min: number; mean: number; max: number } | undefined;
}

/** What the market did in a whole-node run, after the heal. */
export interface MarketSummary {
  blocksAfterHeal: number;
  freshMarks: number;
  acceptedOrders: number;
  fills: number;
  submitted: number;
  admitted: number;
  frontRunner?: FrontRunSummary;
  /** Fair ordering (profiles with `encryptedOrders`): the takers' sealed orders and how long they waited. */
  fairOrdering?: FairOrderingSummary;
  colluders?: ColludeStats;
  /** What the griefer sent and what the validators admitted of it. */
  griefer?: GrieferStats;
  /** The attacker-withdrawal invariant's ledger: flows with honest accounts, those off the fair band, and the excess (USDC; ≤ 0 holds). */
  attackers?: { outsideFlows: number; unfairFlows: number; excessUsdc: number };
  /** Price signing (certificate-liveness): reports opened after the heal and certified, and the signers named silent. */
  certificates?: CertificateSummary & {
    silentNamed: number;
    signingAttempts: number;
    sharesWithheld: number;
    /** Honest validators that crashed while the genesis DKG ran (each restarted and dealt the same again). */
    crashedInDkg: number;
  };
}

export interface RunResult {
  seed: number;
  profile: string;
  validators: number;
  byzantine: number;
  violations: Violation[];
  finalizedMin: number;
  finalizedMax: number;
  viewsNullified: number;
  evidence: number;
  drops: number;
  events: number;
  virtualMs: number;
  traceHash: string;
  mode: 'consensus' | 'whole-node';
  market?: MarketSummary;
  /** The injected bug the run ran with, if any. */
  mutation?: Mutation;
}

interface Instance {
  endpoint: SimEndpoint;
  /** The validator's files (the price key files): kept across its crashes. */
  disk: Map<string, string>;
  /** Receiver of the price-signing messages (the running process's signer). */
  prices: ((from: PeerId, message: Uint8Array) => void) | undefined;
  /** The endpoint's one receiver (the network forgets it at a crash): price signing or consensus. */
  receive: (from: PeerId, message: Uint8Array) => void;
  /** Sends price-signing messages from this endpoint, as its behaviour allows. */
  sendPrices: { send(to: PeerId, message: Uint8Array): void; broadcast(message: Uint8Array): void };
  clock: SimClock;
  storage: SimStorage;
  network: Network;
  engine: SimplexEngine | undefined;
  app: { processedHeight(): number } | undefined;
  node: SimNode | undefined;
  up: boolean;
  /** Its application threw while executing: it stopped for good, as a real node must. */
  halted: boolean;
}

interface Validator {
  index: number;
  byzantine: boolean;
  behaviour: AdversaryName | undefined;
  signer: Ed25519Signer;
  instances: Instance[];
}

/** Validator i's identity seed: SHA-256 of the run seed and i. */
function identitySeed(seed: number, index: number): Uint8Array {
  return createHash('sha256').update(`palisade-sim-key/${seed}/${index}`).digest();
}

/** Deterministic keys: validator i's seed is SHA-256 of the run seed and i. */
function keysFor(seed: number, count: number): Ed25519Signer[] {
  return Array.from({ length: count }, (_, index) => createEd25519Signer(identitySeed(seed, index)));
}

/** Price signing messages: keygen and signing (0x04xx), handovers (0x0503), announcements (0x0504). */
function isPriceMessage(message: Uint8Array): boolean {
  if (message.length < 3) return false;
  const tag = (message[1]! << 8) | message[2]!;
  return tag >> 8 === 0x04 || tag === 0x0503 || tag === CertificateAnnouncementCodec.tag;
}

function isSignatureShare(message: Uint8Array): boolean {
  return message.length >= 3 && ((message[1]! << 8) | message[2]!) === SigningAttemptShareCodec.tag;
}

/** Signature checks are pure, so one run shares a memo of them across validators. */
function memoVerifier(): SignatureVerifier {
  const memo = new Map<string, boolean>();
  return (
    publicKey: Uint8Array,
    tag: DomainTagValue,
    chainId: number,
    message: Uint8Array,
    signature: Uint8Array,
  ) => {
    const key = `${tag}|${toHex(publicKey)}|${toHex(message)}|${toHex(signature)}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const valid = verifyInDomain(publicKey, tag, chainId, message, signature);
    if (memo.size >= 100_000) memo.clear();
    memo.set(key, valid);
    return valid;
  };
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs one seed and checks every invariant.
 * @example const result = await runSimulation({ seed: 1, validators: 4, profile: profileByName('calm')! });
 */
export async function runSimulation(options: RunOptions): Promise<RunResult> {
  const { seed, profile } = options;
  const n = options.validators;
  const rng = createSimRng(seed);
  const scheduler = new Scheduler();
  const network = new SimNetwork(scheduler, rng.fork(), profile.faultyLink);
  const signers = keysFor(seed, n);
  const validatorSet: ValidatorSet = createValidatorSet(signers.map((signer) => signer.publicKey));
  const f = validatorSet.maxFaulty;
  const byzantineCount = Math.min(n, options.byzantine ?? (profile.byzantineByDefault ? f : 0));
  const aboveF = byzantineCount > f;
  const byzantine = new Set<number>();
  for (let i = n - byzantineCount; i < n; i++) byzantine.add(i);
  const verifier = memoVerifier();
  const checker = new InvariantChecker(validatorSet, SIM_CHAIN_ID, verifier, byzantine);
  const trace = createHash('sha256');
  const header = new Uint8Array(12);
  const headerView = new DataView(header.buffer);
  /** Sync responses each honest validator sent each Byzantine one: checked against the budget. */
  const syncAnswers = new Map<string, number>();
  network.observe((from, to, message) => {
    if (isSyncResponse(message)) {
      const key = `${from}/${peerOfEndpoint[to]}`;
      syncAnswers.set(key, (syncAnswers.get(key) ?? 0) + 1);
    }
    headerView.setFloat64(0, scheduler.now());
    headerView.setUint16(8, from);
    headerView.setUint16(10, to);
    trace.update(header);
    // Price signing draws its nonces and dealing polynomials from OS randomness, so its bytes
    // differ between replays while its schedule does not: the trace takes their type and length.
    if (isPriceMessage(message)) {
      headerView.setUint16(8, (message[1]! << 8) | message[2]!);
      headerView.setUint16(10, Math.min(message.length, 0xffff));
      trace.update(header);
    } else trace.update(message);
  });

  const adversaryRng = rng.fork();
  const validators: Validator[] = signers.map((signer, index) => {
    const isByzantine = byzantine.has(index);
    let behaviour: AdversaryName | undefined;
    if (isByzantine) {
      behaviour = aboveF
        ? 'twins'
        : profile.adversary === 'mix'
          ? MIX_ADVERSARY_NAMES[adversaryRng.nextInt(MIX_ADVERSARY_NAMES.length)]!
          : // A venue adversary acts through the application only: its consensus messages are honest.
            (profile.adversary ?? (profile.nodeAdversary === undefined ? 'twins' : undefined));
    }
    return { index, byzantine: isByzantine, behaviour, signer, instances: [] };
  });

  const priceSigning: SimPriceSigning = simPriceSigning(n, {
    noRetry: options.mutation === 'no-signing-retry',
  });
  const withholdsShares = profile.nodeAdversary === 'withholder-signer' && !aboveF;
  const certificates =
    options.node === undefined
      ? undefined
      : new CertificateLiveness(
          SIM_PRICE_DOMAIN,
          new Set(signers.map((_, index) => index).filter((index) => !byzantine.has(index))),
          (invariant, detail) => checker.fail(invariant, detail),
        );
  let sharesWithheld = 0;
  /** Honest validators that crashed while the genesis DKG was running (reported in the summary). */
  const crashedInDkg = new Set<number>();
  // Endpoints: one per validator, two for twins (side 0 and side 1).
  const side: number[] = [];
  const honestSide = new Map<number, number>();
  for (const validator of validators) {
    const copies = validator.behaviour === 'twins' ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      const endpoint = network.addEndpoint(validator.index);
      side[endpoint.endpoint] = validator.behaviour === 'twins' ? copy : -1;
      const clock = scheduler.clockFor();
      const behaviour = validator.behaviour;
      const wrapper = behaviour === undefined || behaviour === 'twins' ? undefined : ADVERSARIES[behaviour];
      // Price-signing messages go to the price signer, the rest to consensus (as src/node/node.ts
      // routes them). A consensus adversary's wrapper sees only the consensus side.
      let consensusHandler: ((from: PeerId, message: Uint8Array) => void) | undefined;
      const consensusSide: Network = {
        send: (to, message) => endpoint.send(to, message),
        broadcast: (message) => endpoint.broadcast(message),
        onMessage: (handler) => {
          consensusHandler = handler;
        },
      };
      const withholder = withholdsShares && validator.byzantine;
      const priceSend = (to: PeerId | undefined, message: Uint8Array) => {
        // withholder-signer: it deals, commits and answers like everyone, and never sends a share.
        if (withholder && isSignatureShare(message)) {
          sharesWithheld++;
          return;
        }
        certificates?.sent(validator.index, message);
        if (to === undefined) endpoint.broadcast(message);
        else endpoint.send(to, message);
      };
      const instanceNetwork = wrapper
        ? wrapper(consensusSide, {
            self: validator.index,
            signer: validator.signer,
            chainId: SIM_CHAIN_ID,
            validators: validatorSet,
            rng: adversaryRng.fork(),
            clock,
            leaderMs: SIM_TIMEOUTS.leaderMs,
          })
        : consensusSide;
      const instance: Instance = {
        endpoint,
        disk: new Map(),
        prices: undefined,
        receive: () => {},
        sendPrices: {
          send: (to, message) => priceSend(to, message),
          broadcast: (message) => priceSend(undefined, message),
        },
        clock,
        storage: new SimStorage(),
        network: instanceNetwork,
        engine: undefined,
        app: undefined,
        node: undefined,
        up: false,
        halted: false,
      };
      instance.receive = (from, message) => {
        if (isPriceMessage(message)) instance.prices?.(from, message);
        else consensusHandler?.(from, message);
      };
      validator.instances.push(instance);
    }
  }
  const peerOfEndpoint: number[] = [];
  for (const validator of validators)
    for (const instance of validator.instances) peerOfEndpoint[instance.endpoint.endpoint] = validator.index;
  const hasTwins = validators.some((validator) => validator.behaviour === 'twins');
  if (hasTwins) {
    // Above f the honest validators are dealt alternately, in a seeded order, to the two sides, so
    // both sides are non-empty; at or below f each picks a side at random.
    const order = validators.filter((validator) => !validator.byzantine);
    for (let i = order.length - 1; i > 0; i--) {
      const j = adversaryRng.nextInt(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    order.forEach((validator, position) => {
      honestSide.set(
        validator.instances[0]!.endpoint.endpoint,
        aboveF ? position % 2 : adversaryRng.nextInt(2),
      );
    });
    // Twin copy s talks to the honest validators on side s and to the other twins' copy s.
    // Above f, honest validators on different sides are partitioned too (split brain).
    network.setReach((from, to) => {
      const a = side[from]!;
      const b = side[to]!;
      if (a >= 0 && b >= 0) return a === b;
      if (a >= 0) return honestSide.get(to) === a;
      if (b >= 0) return honestSide.get(from) === b;
      return !aboveF || honestSide.get(from) === honestSide.get(to);
    });
  }

  const honest = validators.filter((validator) => !validator.byzantine);
  // The market has a generator of its own, so the consensus-only runs keep their seeds' traces.
  const scenario = options.node === undefined ? undefined : options.scenario;
  // Fair ordering: the eon keyset every validator holds a share of, dealt in process from the seed.
  const eon =
    options.node !== undefined && profile.encryptedOrders === true ? simEonKeyset(seed, n) : undefined;
  const encryption = eon === undefined ? undefined : { eon: SIM_EON, eonPublicKey: eon.rules.eonPublicKey };
  const market =
    options.node === undefined || scenario !== undefined
      ? undefined
      : createSimMarket({
          chainId: SIM_CHAIN_ID,
          rng: createSimRng(seed ^ 0x6d61726b),
          griefer: profile.nodeAdversary === 'griefer',
          frontRunner: profile.nodeAdversary === 'front-runner',
          colluders: profile.nodeAdversary === 'colluders' ? COLLUDERS : 0,
          params: options.mutation === 'no-price-band' ? NO_PRICE_BAND : undefined,
          encryption,
        });
  const colluders =
    market === undefined || market.colluders.length === 0
      ? undefined
      : createColluders({
          signers: market.colluders,
          chainId: SIM_CHAIN_ID,
          strategy: COLLUDE_STRATEGIES[createSimRng(seed ^ 0x636f6c6c).nextInt(COLLUDE_STRATEGIES.length)]!,
          rng: createSimRng(seed ^ 0x73656172),
          genesis: market.engineGenesis,
          underlyingId: SIM_ASSET.underlyingId,
        });
  // One front-runner for all the Byzantine leaders: they share the trader and its nonces.
  const frontRunner =
    market?.frontRunner === undefined || aboveF
      ? undefined
      : createFrontRunner({
          signer: market.frontRunner,
          chainId: SIM_CHAIN_ID,
          strategy:
            FRONT_RUN_STRATEGIES[createSimRng(seed ^ 0x66726f6e).nextInt(FRONT_RUN_STRATEGIES.length)]!,
          censored: market.takers[0]!.publicKey,
          takersOnly: true,
          encryption:
            encryption === undefined ? undefined : { ...encryption, rng: createSimRng(seed ^ 0x626c696e) },
        });
  const liars = profile.nodeAdversary === 'oracle-liar' && !aboveF;
  const lieStrategy = LIE_STRATEGIES[createSimRng(seed ^ 0x6c696172).nextInt(LIE_STRATEGIES.length)]!;
  const honestKeys = new Set(
    validators
      .filter((validator) => !validator.byzantine)
      .map((validator) => toHex(validator.signer.publicKey)),
  );
  const world =
    scenario !== undefined
      ? { idle: [], honestTraders: scenario.honestTraders, engineGenesis: scenario.engineGenesis }
      : market;
  const venue =
    world === undefined
      ? undefined
      : new VenueChecker((invariant, detail) => checker.fail(invariant, detail), world, {
          censorship: scenario === undefined,
        });
  const scenarioListeners: ((applied: SimApplied) => void)[] = [];
  const fairBlocks = new FairBlocks();
  const frontRunEdge = frontRunner === undefined ? undefined : new FrontRunEdge(frontRunner);
  const venueValidator = honest[0];
  let attackerLedger: { ledger: FairValueLedger; engine: SimNode['engine'] } | undefined;
  const startNode = (validator: Validator, instance: Instance, factory: SimNodeFactory): Application => {
    const isHonest = !validator.byzantine;
    const report = (what: string, error: unknown) => {
      if (isHonest)
        checker.fail(
          'no-invariant-thrown',
          `validator ${validator.index} ${what}: ${(error as Error)?.message ?? error}`,
        );
    };
    const guarded = <T>(what: string, call: () => T): T => {
      try {
        const out = call();
        if (out instanceof Promise)
          return out.catch((error: unknown) => {
            report(what, error);
            throw error;
          }) as T;
        return out;
      } catch (error) {
        report(what, error);
        throw error;
      }
    };
    const genesis = (scenario ?? market!).engineGenesis;
    const wallClock = () => genesis.startTimeMs + instance.clock.now() + (scenario?.clockOffsetMs() ?? 0);
    const node = factory({
      chainId: SIM_CHAIN_ID,
      validators: signers.map((signer) => signer.publicKey),
      self: validator.index,
      engineGenesis: genesis,
      assets: (scenario ?? market!).assets,
      // A fresh view of the storage after each (re)start: what was buffered died with the process.
      storage: createKvBlockStore(instance.storage),
      clock: instance.clock,
      wallClock,
      observe: (height) =>
        scenario !== undefined
          ? scenario.observe(validator.index, validator.signer, height, wallClock())
          : liars && validator.byzantine
            ? market!.lie(validator.signer, height, instance.clock.now(), lieStrategy)
            : market!.observation(validator.signer, validator.index, height, instance.clock.now()),
      signer: validator.signer,
      secretKey: identitySeed(seed, validator.index),
      disk: instance.disk,
      priceSigning,
      ...(eon === undefined
        ? {}
        : { fairOrdering: { rules: eon.rules, secretShare: eon.secretShares[validator.index]! } }),
      ...(options.mutation === 'no-observation-wait' ? { applicationLimits: { observationWaitMs: 0 } } : {}),
      ...(options.mutation === 'admit-unfunded' ? { admitWithoutAccount: true } : {}),
      ...(options.mutation === 'no-rate-limit' ? { mempoolLimits: NO_ACCOUNT_RATE_LIMIT } : {}),
      send: instance.sendPrices.send,
      broadcast: instance.sendPrices.broadcast,
    });
    instance.prices = (from, message) =>
      guarded(`taking a price-signing message from ${from}`, () => node.prices.receive(from, message));
    /**
     * The block being executed: its honest observations (the oracle invariant) and the senders of
     * its envelopes (each pays its fee in this block: it signed for it, as for a transaction).
     */
    let executing:
      | { height: number; range: HonestRange | undefined; envelopeSenders: readonly string[] }
      | undefined;
    if (isHonest && validator === venueValidator)
      node.onApplied((applied) => {
        const current = executing?.height === applied.height ? executing : undefined;
        const range = current?.range;
        if (applied.replay) return;
        fairBlocks.record(applied);
        frontRunEdge?.block(applied.height, applied.result, node.engine, applied);
        venue!.applied(
          node.engine,
          current === undefined || current.envelopeSenders.length === 0
            ? applied
            : { ...applied, signers: [...applied.signers, ...current.envelopeSenders] },
          range,
        );
        for (const listener of scenarioListeners) listener(applied);
        if (attackerLedger === undefined && market !== undefined && market.attackers.length > 0) {
          const keys = market.attackers.map((signer) => toHex(signer.publicKey));
          const deposits = market.engineGenesis.accounts
            .filter((entry) => keys.includes(toHex(entry.publicKey)))
            .reduce((sum, entry) => sum + entry.balance, 0n);
          attackerLedger = { ledger: new FairValueLedger(keys, node.engine, deposits), engine: node.engine };
        }
        attackerLedger?.ledger.block(applied.result, applied.result, node.engine, node.engine);
        if (attackerLedger !== undefined) attackerLedger.engine = node.engine;
      });
    guarded('opening its storage', () => node.open());
    instance.node = node;
    const inner = node.application;
    return {
      propose: (context) =>
        guarded(`proposing at height ${context.height}`, async () => {
          const payload = await inner.propose(context);
          if (frontRunner === undefined || isHonest || payload === undefined) return payload;
          return frontRunner.rewrite(payload, node.engine);
        }),
      verify: (context, payload) =>
        guarded(`verifying at height ${context.height}`, () => inner.verify(context, payload)),
      finalized: async (finalized) => {
        if (validator === venueValidator)
          executing = {
            height: finalized.block.height,
            range: honestRangeOf(finalized.block.payload, honestKeys, SIM_ASSET.assetId),
            envelopeSenders: eon === undefined ? [] : envelopeSendersOf(finalized.block.payload),
          };
        try {
          await inner.finalized(finalized);
        } catch (error) {
          // A node whose execution broke stops rather than diverge; the run goes on without it.
          report(`executing height ${finalized.block.height}`, error);
          halt(instance);
          return;
        }
        if (!isHonest || inner.processedHeight() < finalized.block.height) return;
        const root = node.stateRootAt(finalized.block.height);
        if (root !== undefined) checker.applied(validator.index, finalized.block, finalized.digest, root);
      },
      processedHeight: () => inner.processedHeight(),
      extension: (kind, view, digest) => inner.extension(kind, view, digest),
      wantsLateExtension: (extension) => inner.wantsLateExtension(extension),
      verifyExtension: (signer, kind, view, digest, extension) =>
        inner.verifyExtension(signer, kind, view, digest, extension),
    };
  };
  const halt = (instance: Instance) => {
    instance.halted = true;
    instance.engine?.stop();
    instance.clock.stopAll();
    network.setUp(instance.endpoint.endpoint, false);
    instance.up = false;
  };
  const startInstance = (validator: Validator, instance: Instance) => {
    if (instance.halted) return;
    const isHonest = !validator.byzantine;
    if (options.node !== undefined) {
      const application = startNode(validator, instance, options.node);
      startConsensus(validator, instance, application, true);
      const node = instance.node;
      if (node !== undefined && !instance.halted) node.prices.start();
      return;
    }
    const app = new SimApplication(
      instance.storage,
      validator.index,
      {
        applied: (block, digest, stateHash) => {
          if (isHonest) checker.applied(validator.index, block, digest, stateHash);
        },
        deliveryError: (detail) => {
          if (isHonest) checker.fail('exactly-once-delivery', detail);
        },
      },
      instance.endpoint.endpoint,
    );
    instance.app = app;
    startConsensus(validator, instance, app, false);
  };
  const startConsensus = (
    validator: Validator,
    instance: Instance,
    app: Application,
    applicationSyncsStorage: boolean,
  ) => {
    const isHonest = !validator.byzantine;
    if (applicationSyncsStorage) instance.app = app;
    const engine = createEngine({
      chainId: SIM_CHAIN_ID,
      validators: validatorSet,
      self: validator.index,
      signer: validator.signer,
      clock: instance.clock,
      network: instance.network,
      storage: instance.storage,
      application: app,
      ...(applicationSyncsStorage ? { applicationSyncsStorage: true } : {}),
      timeouts: SIM_TIMEOUTS,
      verifier,
      ...(isHonest && options.mutation === 'finalize-after-nullify' ? { mutation: options.mutation } : {}),
      observer: isHonest
        ? {
            released: (vote) => checker.released(vote),
            certificate: (certificate) => checker.certificate(certificate),
            evidence: (evidence) => checker.evidence(evidence),
          }
        : {},
    });
    instance.engine = engine;
    instance.up = true;
    network.setUp(instance.endpoint.endpoint, true);
    instance.endpoint.onMessage(instance.receive);
    void engine.start();
  };
  const crashInstance = (instance: Instance) => {
    // Counted for the summary: a validator that loses the DKG's state mid-session deals again at
    // restart, the same bytes (deterministic dealing), and must still end with the group key.
    const validatorIndex = peerOfEndpoint[instance.endpoint.endpoint]!;
    if (instance.node?.prices.stats().dkg === 'running' && !byzantine.has(validatorIndex))
      crashedInDkg.add(validatorIndex);
    instance.engine?.stop();
    instance.clock.stopAll();
    network.setUp(instance.endpoint.endpoint, false);
    instance.storage.crash(rng);
    instance.up = false;
  };

  for (const validator of validators)
    for (const instance of validator.instances) startInstance(validator, instance);

  const faultRng = rng.fork();
  let healed = false;
  let marketStats: ReturnType<SimMarketWorld['startTraders']> | undefined;
  if (profile.partitions) {
    const repartition = () => {
      if (healed) return;
      const endpoints = validators.flatMap((validator) =>
        validator.instances.map((instance) => instance.endpoint.endpoint),
      );
      if (faultRng.nextInt(3) === 0) network.setPartition(undefined);
      else {
        const groups: number[] = [];
        for (const endpoint of endpoints) groups[endpoint] = faultRng.nextInt(2);
        network.setPartition(groups);
      }
      scheduler.schedule(50 + faultRng.nextInt(250), repartition);
    };
    scheduler.schedule(faultRng.nextInt(100), repartition);
  }
  if (profile.crashes) {
    const crashSomeone = () => {
      if (healed) return;
      const candidates = honest.filter((validator) => validator.instances[0]!.up);
      const down = honest.length - candidates.length;
      if (candidates.length > 0 && down < Math.max(1, f)) {
        const victim = candidates[faultRng.nextInt(candidates.length)]!;
        const instance = victim.instances[0]!;
        crashInstance(instance);
        scheduler.schedule(20 + faultRng.nextInt(300), () => {
          if (!instance.up) startInstance(victim, instance);
        });
      }
      scheduler.schedule(30 + faultRng.nextInt(200), crashSomeone);
    };
    scheduler.schedule(faultRng.nextInt(100), crashSomeone);
  }

  let target = Number.POSITIVE_INFINITY;
  // The whole node also needs blocks enough after the heal to judge the market's liveness.
  const livenessBlocks =
    options.livenessBlocks ?? (options.node === undefined ? LIVENESS_BLOCKS : WHOLE_NODE_LIVENESS_BLOCKS);
  const heights = () => honest.map((validator) => validator.instances[0]!.app?.processedHeight() ?? 0);
  if (profile.proposalsCut) network.setFilter((message) => !isProposal(message));
  if (profile.midwayCrash) {
    scheduler.schedule(Math.floor(profile.healAtMs / 2), () => {
      const victim = honest[faultRng.nextInt(honest.length)]!;
      const instance = victim.instances[0]!;
      crashInstance(instance);
      scheduler.schedule(50 + faultRng.nextInt(2000), () => {
        if (!instance.up) startInstance(victim, instance);
      });
    });
  }
  const checkCaches = () => {
    for (const validator of honest) {
      const engine = validator.instances[0]!.engine;
      if (engine === undefined || !validator.instances[0]!.up) continue;
      const sizes = engine.cacheSizes();
      const { view, finalizedView } = engine.status();
      // Only blocks checked or certified above the tip are cached: at most one per view since it.
      const blocksMax = CACHE_BLOCKS_SLACK + view - finalizedView;
      if (
        sizes.stale > 0 ||
        sizes.blocks > blocksMax ||
        sizes.views > MAX_TRACKED_VIEWS ||
        sizes.proposals > blocksMax + MAX_VIEWS_AHEAD
      )
        checker.fail(
          'bounded-caches',
          `validator ${validator.index} in view ${view} (finalized view ${finalizedView}) holds ${sizes.blocks} blocks (${sizes.stale} at or below the tip), ${sizes.proposals} proposals, ${sizes.views} views`,
        );
    }
    scheduler.schedule(CACHE_CHECK_MS, checkCaches);
  };
  scheduler.schedule(CACHE_CHECK_MS, checkCaches);
  let control: SimControl | undefined;
  if (options.node !== undefined) {
    const upNodes = () =>
      validators.flatMap((validator) =>
        validator.instances.filter((instance) => instance.up && instance.node !== undefined),
      );
    const reference = () => {
      let best: SimNode | undefined;
      for (const validator of honest) {
        const node = validator.instances[0]!.node;
        if (
          node !== undefined &&
          validator.instances[0]!.up &&
          (best === undefined || node.engine.height > best.engine.height)
        )
          best = node;
      }
      return best?.engine;
    };
    const send = (bytes: Uint8Array) => {
      let admitted = 0;
      const codes: string[] = [];
      const reached = upNodes();
      for (const instance of options.mutation === 'no-gossip' ? reached.slice(-1) : reached) {
        const verdict = instance.node!.admit(bytes, scheduler.now());
        if (verdict.status === 'accepted') admitted++;
        else codes.push(verdict.code ?? verdict.status);
      }
      // no-crowding-out: only a capacity refusal costs the decode of the signer.
      if (admitted === 0 && venue !== undefined && codes.some((code) => CAPACITY_REFUSALS.has(code)))
        venue.refused(signerHex(bytes), codes, scheduler.now());
      return { admitted, code: codes[0] };
    };
    const submit = (bytes: Uint8Array) => send(bytes).admitted;
    /** An order envelope to every validator's envelope pool (the gossip a real node does). */
    const submitEnvelope = (bytes: Uint8Array) => {
      let admitted = 0;
      const reached = upNodes();
      for (const instance of options.mutation === 'no-gossip' ? reached.slice(-1) : reached)
        if (instance.node!.submitEnvelope(bytes).status === 'accepted') admitted++;
      return admitted;
    };
    if (market !== undefined) {
      marketStats = market.startTraders({ clock: scheduler.clockFor(), reference, submit, submitEnvelope });
      colluders?.start({
        clock: scheduler.clockFor(),
        reference,
        submit,
        pump: (bps) => market.shiftIndex(bps, scheduler.now()),
      });
    }
    control = {
      now: () => scheduler.now(),
      submit: send,
      engine: () => venueValidator?.instances[0]?.node?.engine,
      onApplied: (listener) => {
        scenarioListeners.push(listener);
      },
      run: async (done, maxMs) => {
        const until = scheduler.now() + maxMs;
        while (!done()) {
          if (scheduler.executed() >= MAX_EVENTS_PER_RUN) return false;
          if (!scheduler.step(until)) {
            scheduler.advanceTo(until);
            return done();
          }
          await settle();
        }
        return true;
      },
    };
  }
  let healHeight = 0;
  scheduler.schedule(profile.healAtMs, () => {
    healed = true;
    healHeight = Math.max(0, ...heights());
    if (venue !== undefined) venue.healed = true;
    network.setLink(CALM_LINK);
    network.setFilter(undefined);
    if (!aboveF) network.setPartition(undefined);
    for (const validator of honest) {
      const instance = validator.instances[0]!;
      if (!instance.up) startInstance(validator, instance);
    }
    target = Math.max(0, ...heights()) + livenessBlocks;
  });
  let deadline = profile.healAtMs + LIVENESS_WINDOW_MS;
  let live = false;
  // Engines start with work queued as promise continuations; it runs at time 0, before any event.
  await settle();
  if (scenario !== undefined && control !== undefined) {
    // The script runs on the healed network; then the chain must go on for its liveness blocks,
    // with fresh marks judged over those (a script may stop every source on purpose).
    await control.run(() => healed, profile.healAtMs + 1);
    await scenario.drive(control);
    if (scheduler.executed() >= MAX_EVENTS_PER_RUN)
      checker.fail('event-budget', `more than ${MAX_EVENTS_PER_RUN} events: a livelock`);
    target = Math.max(0, ...heights()) + livenessBlocks;
    deadline = scheduler.now() + LIVENESS_WINDOW_MS;
    venue?.restartMarkCount();
  }
  while (scheduler.step(deadline)) {
    await settle();
    if (scheduler.executed() >= MAX_EVENTS_PER_RUN) {
      checker.fail('event-budget', `more than ${MAX_EVENTS_PER_RUN} events: a livelock`);
      break;
    }
    if (healed && heights().every((height) => height >= target)) {
      live = true;
      break;
    }
  }
  // Price signing: the sessions opened up to the target get one session timeout to end.
  const witnesses = () =>
    honest
      .filter((validator) => !validator.instances[0]!.halted && validator.instances[0]!.node !== undefined)
      .map((validator) => {
        const node = validator.instances[0]!.node!;
        return {
          index: validator.index,
          keyset: node.prices.keyset(),
          dkg: node.prices.stats().dkg,
          opened: node.prices.opened(),
        };
      });
  const liveAtMs = scheduler.now();
  if (live && certificates !== undefined && !aboveF) {
    const graceEnd = liveAtMs + priceSigning.sessionTimeoutMs;
    while (certificates.outstanding(witnesses(), healHeight, target) > 0 && scheduler.step(graceEnd))
      await settle();
  }
  if (live) venue?.finish();
  // The DKG tolerates f faulty dealers. An honest validator that crashed during it is not one:
  // its dealing is derived from its identity key and the session (src/crypto/keygen.ts
  // `dealingSeed`), so what it deals after the restart is a copy of what it dealt before, and it
  // finishes the session it was in. Runs with crashes in the DKG are judged like the others.
  const certificateSummary =
    live && certificates !== undefined && !aboveF
      ? certificates.finish(witnesses(), healHeight, target, scheduler.now() - liveAtMs)
      : undefined;
  const attackerReport = attackerLedger?.ledger.report(attackerLedger.engine, attackerLedger.engine);
  if (attackerLedger !== undefined && attackerReport !== undefined) {
    const report = attackerReport;
    if (report.excess > 0n)
      checker.fail(
        'attacker-withdrawal',
        `the hostile traders hold and withdrew ${report.withdrawn + report.held} against deposits ${report.deposits} plus fair pay ${report.fairPay}: ${report.excess} beyond (${report.unfairFlows} of ${report.outsideFlows} flows off the fair band)`,
      );
  }
  if (!live) {
    checker.fail(
      'liveness',
      `honest heights ${heights().join(',')} did not reach ${target} within ${LIVENESS_WINDOW_MS} ms after the heal`,
    );
  }
  // Answers to a peer's block requests stay within its budget (spec §9), whatever it sends.
  const answersMax =
    DEFAULT_REQUEST_BUDGET.requestsBurst +
    Math.ceil((DEFAULT_REQUEST_BUDGET.requestsPerSecond * scheduler.now()) / 1000);
  for (const [pair, answers] of [...syncAnswers].sort()) {
    const [from, to] = pair.split('/').map(Number) as [number, number];
    if (byzantine.has(from) || !byzantine.has(to) || answers <= answersMax) continue;
    checker.fail(
      'sync-budget',
      `validator ${from} answered ${answers} block requests of ${to}, more than ${answersMax}`,
    );
  }
  checker.finish();
  for (const validator of validators)
    for (const instance of validator.instances) if (instance.up) instance.engine?.stop();

  let evidence = 0;
  let drops = 0;
  for (const validator of honest) {
    const engine = validator.instances[0]!.engine;
    if (engine === undefined) continue;
    evidence += engine.evidence().length;
    for (const reasons of Object.values(engine.dropCounters())) {
      for (const count of Object.values(reasons)) drops += count ?? 0;
    }
  }
  const finalHeights = heights();
  return {
    seed,
    profile: profile.name,
    validators: n,
    byzantine: byzantineCount,
    violations: checker.violations,
    finalizedMin: Math.min(...finalHeights),
    finalizedMax: Math.max(...finalHeights),
    viewsNullified: checker.viewsNullified(),
    evidence,
    drops,
    events: scheduler.executed(),
    virtualMs: scheduler.now(),
    traceHash: trace.digest('hex'),
    mode: options.node === undefined ? 'consensus' : 'whole-node',
    ...(options.mutation === undefined ? {} : { mutation: options.mutation }),
    ...(venue === undefined
      ? {}
      : {
          market: {
            blocksAfterHeal: venue.afterHeal.blocks,
            freshMarks: venue.afterHeal.freshMarks,
            acceptedOrders: venue.afterHeal.acceptedOrders,
            fills: venue.afterHeal.fills,
            submitted: marketStats?.submitted ?? 0,
            admitted: marketStats?.admitted ?? 0,
            ...(marketStats?.griefer === undefined ? {} : { griefer: { ...marketStats.griefer } }),
            ...(certificateSummary === undefined
              ? {}
              : {
                  certificates: {
                    ...certificateSummary,
                    signingAttempts: honest.reduce(
                      (sum, validator) =>
                        sum + (validator.instances[0]!.node?.prices.stats().signingAttempts ?? 0),
                      0,
                    ),
                    silentNamed: honest.reduce((sum, validator) => {
                      const silent = validator.instances[0]!.node?.prices.stats().silentSigners ?? {};
                      return sum + [...byzantine].reduce((total, b) => total + (silent[b] ?? 0), 0);
                    }, 0),
                    sharesWithheld,
                    crashedInDkg: crashedInDkg.size,
                  },
                }),
            ...(attackerReport === undefined
              ? {}
              : {
                  attackers: {
                    outsideFlows: attackerReport.outsideFlows,
                    unfairFlows: attackerReport.unfairFlows,
                    excessUsdc: Number(attackerReport.excess) / 1e6,
                  },
                }),
            ...(colluders === undefined ? {} : { colluders: { ...colluders.stats } }),
            ...(eon === undefined
              ? {}
              : {
                  fairOrdering: fairBlocks.summary(
                    marketStats?.sealed ?? 0,
                    marketStats?.sealedAdmitted ?? 0,
                  ),
                }),
            ...(frontRunner === undefined || venueValidator?.instances[0]?.node === undefined
              ? {}
              : {
                  frontRunner: frontRunnerSummary(
                    frontRunner,
                    market!,
                    venueValidator.instances[0].node.engine,
                    frontRunEdge!,
                  ),
                }),
          },
        }),
  };
}

/** A sample's mean and the standard error of that mean (USDC, 2 decimals). */
export interface MeanAndError {
  mean: number;
  standardError: number;
}

function meanAndError(values: readonly number[]): MeanAndError {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance =
    values.length < 2 ? 0 : values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
  const round = (value: number) => Math.round(value * 100) / 100;
  return { mean: round(mean), standardError: round(Math.sqrt(variance / values.length)) };
}

/**
 * The front-runner's figures over the runs whose strategy was `sandwich` (the others do not
 * trade): per seed, what its victims paid it beyond the mark and its profit, as means with their
 * standard errors, so that "zero within noise" reads as a mean within two standard errors of 0.
 */
export interface FrontRunAggregate {
  seeds: number[];
  read: number;
  guessed: number;
  victimFills: number;
  takenFromVictimsUsdc: MeanAndError;
  edgeUsdc: MeanAndError;
  profitUsdc: MeanAndError;
}

export function aggregateFrontRunner(results: readonly RunResult[]): FrontRunAggregate | undefined {
  const runs = results.filter((result) => result.market?.frontRunner?.strategy === 'sandwich');
  if (runs.length === 0) return undefined;
  const fronts = runs.map((result) => result.market!.frontRunner!);
  return {
    seeds: runs.map((result) => result.seed),
    read: fronts.reduce((sum, front) => sum + front.frontRun, 0),
    guessed: fronts.reduce((sum, front) => sum + front.guessed, 0),
    victimFills: fronts.reduce((sum, front) => sum + front.victimFills, 0),
    takenFromVictimsUsdc: meanAndError(fronts.map((front) => front.takenFromVictimsUsdc)),
    edgeUsdc: meanAndError(fronts.map((front) => front.edgeUsdc)),
    profitUsdc: meanAndError(fronts.map((front) => front.profitUsdc)),
  };
}

/** The senders (lowercase hex) of the envelopes a block payload carries. */
function envelopeSendersOf(payload: Uint8Array): string[] {
  let envelopes: Uint8Array[];
  try {
    envelopes = BlockPayloadCodec.decode(payload).envelopes;
  } catch {
    return [];
  }
  const senders: string[] = [];
  for (const bytes of envelopes) {
    try {
      senders.push(toHex(SignedOrderEnvelopeCodec.decode(bytes).body.sender));
    } catch {
      // Not an envelope: the block rule drops it uncharged.
    }
  }
  return senders;
}

/** Fair ordering's counts over the venue validator's blocks (`FairOrderingSummary`). */
class FairBlocks {
  included = 0;
  executed = 0;
  readonly delays: number[] = [];

  record(applied: SimApplied): void {
    if (applied.fair === undefined) return;
    this.included += applied.fair.admitted;
    this.executed += applied.result.encryptedResults.length;
    for (const opened of applied.fair.openedHeights) this.delays.push(applied.height - opened);
  }

  summary(sealed: number, pooled: number): FairOrderingSummary {
    const { delays } = this;
    return {
      sealed,
      pooled,
      included: this.included,
      executed: this.executed,
      batchesOpened: delays.length,
      finalityToExecutionBlocks:
        delays.length === 0
          ? undefined
          : {
              min: Math.min(...delays),
              mean: Number((delays.reduce((sum, delay) => sum + delay, 0) / delays.length).toFixed(2)),
              max: Math.max(...delays),
            },
    };
  }
}

/** The one command that replays a run. */
export function replayCommand(
  result: Pick<RunResult, 'seed' | 'profile' | 'validators' | 'byzantine'> & {
    mode?: RunResult['mode'];
    mutation?: Mutation | undefined;
  },
): string {
  const mode = result.mode === 'whole-node' ? ' --mode whole-node' : '';
  const mutation = result.mutation === undefined ? '' : ` --mutation ${result.mutation}`;
  return `palisade sim --seeds 1 --seed-start ${result.seed} --validators ${result.validators} --byzantine ${result.byzantine} --profile ${result.profile}${mode}${mutation}`;
}

export type { SimRng };
