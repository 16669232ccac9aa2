/**
 * Each detector: the attack (or fault) that must trigger it, and ordinary traffic that must not.
 * Signals are built by hand in the shapes the node feeds (src/node/monitor-feed.ts), so every
 * threshold is exercised exactly at its edge.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EngineEvent } from '../execution/types.ts';
import { DEFAULT_MONITOR_CONFIG, resolveMonitorConfig } from './config.ts';
import type { Detector } from './detector.ts';
import {
  EvidenceDetector,
  FinalityLatencyDetector,
  NullificationRunDetector,
} from './detectors/consensus.ts';
import { GovernanceDetector } from './detectors/governance.ts';
import {
  ConcentrationDetector,
  InsuranceDrawdownDetector,
  LargeWithdrawalDetector,
  LiquidationCascadeDetector,
} from './detectors/ledger.ts';
import { HandshakeDetector, MempoolSpamDetector, PeerFaultDetector } from './detectors/network.ts';
import {
  AggregateFlagDetector,
  BadObservationDetector,
  ObservationEquivocationDetector,
  OwnDeviationDetector,
  SourceHealthDetector,
} from './detectors/oracle.ts';
import { AutomaticResponseDetector } from './detectors/responses.ts';
import { OffMarkTradeDetector, SelfTradeDetector, WashTradeDetector } from './detectors/trading.ts';
import type { Finding } from './finding.ts';
import type {
  BlockSignal,
  ConsensusSignal,
  MempoolSignal,
  MonitorSignal,
  OpenInterestSignal,
  OracleSignal,
  PeersSignal,
} from './signals.ts';

const config = DEFAULT_MONITOR_CONFIG;
const alice = 'a1'.repeat(32);
const bob = 'b2'.repeat(32);
const carol = 'c3'.repeat(32);

function block(height: number, events: EngineEvent[] = [], extra: Partial<BlockSignal> = {}): BlockSignal {
  return {
    kind: 'block',
    height,
    timeMs: 1_700_000_000_000 + height * 1000,
    events,
    finalityLatencyMs: 40,
    marks: new Map([[1, { markPrice: 1_000_000n, tickSize: 1_000 }]]),
    insuranceFund: 10_000_000_000n,
    totalDeposits: 100_000_000_000_000n,
    ...extra,
  };
}

function fill(
  maker: string,
  taker: string,
  takerSide: 'buy' | 'sell',
  lots: number,
  priceTicks = 1_000,
  id = 1,
): EngineEvent {
  return {
    type: 'fill',
    seriesId: 1,
    makerOrderId: id,
    takerOrderId: id + 1,
    maker,
    taker,
    takerSide,
    priceTicks,
    lots,
    makerFee: 0n,
    takerFee: 0n,
  };
}

function consensus(
  view: number,
  finalizedView: number,
  extra: Partial<ConsensusSignal> = {},
): ConsensusSignal {
  return {
    kind: 'consensus',
    height: finalizedView,
    timeMs: view * 1000,
    view,
    finalizedView,
    conflictingFinalizations: 0,
    evidence: [],
    ...extra,
  };
}

function peers(
  timeMs: number,
  faults: Record<string, number>,
  extra: Partial<PeersSignal> = {},
): PeersSignal {
  return {
    kind: 'peers',
    height: 1,
    timeMs,
    peers: [{ peer: 2, banned: false, faults }],
    refusals: {},
    strangerHandshakes: 0,
    ...extra,
  };
}

function oracle(height: number, extra: Partial<OracleSignal>): OracleSignal {
  return {
    kind: 'oracle',
    height,
    timeMs: height * 1000,
    own: [],
    aggregate: [],
    quotes: [],
    dropped: [],
    equivocations: [],
    ...extra,
  };
}

function run(detector: Detector, signals: MonitorSignal[]): Finding[] {
  return signals.flatMap((signal) => detector.observe(signal));
}

function alerts(findings: readonly Finding[]): string[] {
  return findings.map((finding) => finding.alertId);
}

describe('consensus detectors', () => {
  test('equivocation evidence is reported once per conflicting pair, Critical', () => {
    const detector = new EvidenceDetector();
    const evidence = [{ validator: 3, kind: 'notarize-conflict' as const, view: 12 }];
    const first = detector.observe(consensus(13, 12, { evidence }));
    assert.deepEqual(alerts(first), ['PALISADE-EQUIVOCATION']);
    assert.equal(first[0]!.severity, 'Critical');
    assert.equal(first[0]!.type, 'Exploit');
    assert.deepEqual(first[0]!.addresses, ['validator:3']);
    // The same evidence on the next sample is not a new finding.
    assert.deepEqual(detector.observe(consensus(14, 13, { evidence })), []);
  });

  test('a conflicting finalization is Critical; none is silent', () => {
    const detector = new EvidenceDetector();
    assert.deepEqual(detector.observe(consensus(5, 4)), []);
    assert.deepEqual(alerts(detector.observe(consensus(6, 5, { conflictingFinalizations: 1 }))), [
      'PALISADE-CONFLICTING-FINALIZATION',
    ]);
  });

  test('a nullification run at the threshold is reported once per run', () => {
    const detector = new NullificationRunDetector(config.consensus);
    const views = config.consensus.nullificationRunViews;
    // Honest progress: view = finalizedView + 1.
    assert.deepEqual(run(detector, [consensus(11, 10), consensus(12, 11), consensus(13, 12)]), []);
    assert.deepEqual(detector.observe(consensus(12 + views, 12)), []);
    const found = detector.observe(consensus(13 + views, 12));
    assert.deepEqual(alerts(found), ['PALISADE-NULLIFICATION-RUN']);
    assert.equal(found[0]!.metadata.views, String(views));
    assert.deepEqual(detector.observe(consensus(20 + views, 12)), [], 'one finding per run');
    assert.equal(detector.observe(consensus(30 + views, 25)).length, 1, 'a later run is reported again');
  });

  test('finality latency: breaches in a row are reported, a single slow block is not', () => {
    const detector = new FinalityLatencyDetector(config.consensus);
    const slow = config.consensus.finalityLatencyMsMax + 1;
    assert.deepEqual(
      run(detector, [
        block(1, [], { finalityLatencyMs: slow }),
        block(2, [], { finalityLatencyMs: 50 }),
        block(3, [], { finalityLatencyMs: slow }),
        block(4, [], { finalityLatencyMs: null }),
      ]),
      [],
    );
    const found = run(
      detector,
      [5, 6, 7].map((height) => block(height, [], { finalityLatencyMs: slow })),
    );
    assert.deepEqual(alerts(found), ['PALISADE-FINALITY-LATENCY']);
  });
});

describe('network detectors', () => {
  test('a peer sending bad frames is reported; stale votes from an honest peer are not', () => {
    const detector = new PeerFaultDetector(config.peers);
    // Honest: many stale/late votes, a reason that is not the sender's fault.
    assert.deepEqual(
      run(detector, [peers(1_000, { 'consensus/stale': 500 }), peers(2_000, { 'consensus/stale': 5000 })]),
      [],
    );
    const max = config.peers.peerFaultsMax;
    const found = run(detector, [
      peers(3_000, { 'consensus/stale': 5000, 'consensus/bad-signature': max - 1 }),
      peers(4_000, {
        'consensus/stale': 5000,
        'consensus/bad-signature': max - 1,
        'transport/oversize_frame': 1,
      }),
    ]);
    assert.deepEqual(alerts(found), ['PALISADE-PEER-BAD-FRAMES']);
    assert.deepEqual(found[0]!.addresses, ['validator:2']);
    // Cooldown: more faults right after do not repeat the finding.
    assert.deepEqual(detector.observe(peers(5_000, { 'consensus/bad-signature': max * 3 })), []);
  });

  test('faults spread thinner than the window are not a finding', () => {
    const detector = new PeerFaultDetector(config.peers);
    const window = config.peers.peerFaultWindowMs;
    const signals: PeersSignal[] = [];
    // Half the threshold per window, for ten windows.
    for (let i = 0; i <= 10; i++)
      signals.push(peers(i * window, { 'consensus/malformed': (i * config.peers.peerFaultsMax) / 2 }));
    assert.deepEqual(run(detector, signals), []);
  });

  test('a counter that went down (restart) is a new baseline, not a burst', () => {
    const detector = new PeerFaultDetector(config.peers);
    assert.deepEqual(
      run(detector, [peers(1_000, { 'consensus/malformed': 5 }), peers(2_000, { 'consensus/malformed': 1 })]),
      [],
    );
  });

  test('a banned peer is reported once until unbanned', () => {
    const detector = new PeerFaultDetector(config.peers);
    const banned = (timeMs: number, flag: boolean) =>
      peers(timeMs, {}, { peers: [{ peer: 1, banned: flag, faults: {} }] });
    assert.deepEqual(alerts(run(detector, [banned(1, true), banned(2, true)])), ['PALISADE-PEER-BANNED']);
    assert.deepEqual(alerts(run(detector, [banned(3, false), banned(4, true)])), ['PALISADE-PEER-BANNED']);
  });

  test('handshakes with the wrong validator key are an authentication failure', () => {
    const detector = new HandshakeDetector(config.peers);
    const refused = (timeMs: number, refusals: Record<string, number>) =>
      peers(timeMs, {}, { peers: [], refusals });
    assert.deepEqual(
      run(detector, [refused(1_000, { banned: 2 }), refused(2_000, { wrong_peer_key: 1 })]),
      [],
    );
    const found = detector.observe(refused(3_000, { wrong_peer_key: config.peers.authFailuresMax }));
    assert.deepEqual(alerts(found), ['PALISADE-PEER-AUTH-FAILURE']);
  });

  test('a stranger flood trips at the rate threshold; a trickle does not', () => {
    const detector = new HandshakeDetector(config.peers);
    const max = config.peers.strangerRefusalsMax;
    const window = config.peers.strangerWindowMs;
    const refused = (timeMs: number, count: number) =>
      peers(timeMs, {}, { peers: [], refusals: { unknown_key: count, handshake_timeout: count } });
    // A trickle: a quarter of the threshold per window.
    const trickle: PeersSignal[] = [];
    for (let i = 0; i <= 8; i++) trickle.push(refused(i * window, (i * max) / 8));
    assert.deepEqual(run(detector, trickle), []);
    const flood = detector.observe(refused(9 * window, max + max / 2));
    assert.deepEqual(alerts(flood), ['PALISADE-STRANGER-FLOOD']);
  });

  test('mempool spam: refusals of spam codes over the window; honest nonce races are not spam', () => {
    const detector = new MempoolSpamDetector(config.mempool);
    const sample = (timeMs: number, refused: Record<string, number>, transactions = 10): MempoolSignal => ({
      kind: 'mempool',
      height: 1,
      timeMs,
      refused,
      transactions,
      transactionsMax: 1000,
    });
    assert.deepEqual(
      run(detector, [sample(1_000, { NONCE_TOO_LOW: 5_000 }), sample(2_000, { NONCE_TOO_LOW: 50_000 })]),
      [],
    );
    const found = detector.observe(
      sample(3_000, { NONCE_TOO_LOW: 50_000, BAD_SIGNATURE: config.mempool.refusalsMax }),
    );
    assert.deepEqual(alerts(found), ['PALISADE-MEMPOOL-SPAM']);
    assert.match(found[0]!.metadata.codes!, /^BAD_SIGNATURE=/);
    const saturated = detector.observe(sample(4_000, { BAD_SIGNATURE: config.mempool.refusalsMax }, 950));
    assert.deepEqual(alerts(saturated), ['PALISADE-MEMPOOL-SATURATED']);
  });
});

describe('oracle detectors', () => {
  const aggregate = (priceTicks: bigint, flags = 0) => [{ assetId: 1, priceTicks, flags }];

  test('own observation far from the aggregate for blocks in a row', () => {
    const detector = new OwnDeviationDetector(config.oracle);
    // 1% off (under 2%) for many blocks: normal noise between validators' sources.
    const near = [1, 2, 3, 4, 5].map((h) =>
      oracle(h, { own: [{ assetId: 1, priceTicks: 101_000n }], aggregate: aggregate(100_000n) }),
    );
    assert.deepEqual(run(detector, near), []);
    const far = [6, 7, 8, 9].map((h) =>
      oracle(h, { own: [{ assetId: 1, priceTicks: 103_000n }], aggregate: aggregate(100_000n) }),
    );
    const found = run(detector, far);
    assert.deepEqual(alerts(found), ['PALISADE-ORACLE-OWN-DEVIATION'], 'once per run');
    assert.equal(found[0]!.height, 8);
    // A stale aggregate is no basis for comparison.
    const stale = [10, 11, 12, 13].map((h) =>
      oracle(h, { own: [{ assetId: 1, priceTicks: 200_000n }], aggregate: aggregate(100_000n, 1) }),
    );
    assert.deepEqual(run(detector, stale), []);
  });

  const quotes = (prices: Record<string, bigint>) =>
    Object.entries(prices).map(([sourceId, priceTicks]) => ({
      sourceId,
      assetId: 1,
      priceTicks,
      timestampMs: 0,
    }));

  test('a source diverging from the others is reported after enough samples', () => {
    const detector = new SourceHealthDetector(config.oracle);
    const honest = [1, 2, 3, 4, 5, 6, 7].map((h) =>
      oracle(h, { quotes: quotes({ a: 100_000n + BigInt(h), b: 100_100n, c: 99_900n }) }),
    );
    assert.deepEqual(run(detector, honest), []);
    const found = run(
      detector,
      [8, 9, 10, 11, 12, 13].map((h) =>
        oracle(h, { quotes: quotes({ a: 100_000n, b: 100_100n, evil: 110_000n }) }),
      ),
    );
    assert.deepEqual(alerts(found), ['PALISADE-ORACLE-SOURCE-DIVERGING']);
    assert.deepEqual(found[0]!.addresses, ['source:evil']);
  });

  test('a stuck source is reported when the others moved; a quiet market is not a stuck source', () => {
    const detector = new SourceHealthDetector(config.oracle);
    const stuckMs = config.oracle.sourceStuckMs;
    // All three flat for twice the window: nothing moved, nothing is stuck.
    const quiet = [0, stuckMs, 2 * stuckMs].map((t) => ({
      ...oracle(1, { quotes: quotes({ a: 100_000n, b: 100_000n, c: 100_000n }) }),
      timeMs: t,
    }));
    assert.deepEqual(run(detector, quiet), []);
    const moving = (t: number, step: bigint) => ({
      ...oracle(2, { quotes: quotes({ a: 100_000n, b: 100_000n + step, c: 100_000n + step }) }),
      timeMs: t,
    });
    const found = run(detector, [
      moving(3 * stuckMs, 10n),
      moving(3 * stuckMs + 1000, 400n),
      moving(4 * stuckMs + 1000, 500n),
    ]);
    assert.deepEqual(alerts(found), ['PALISADE-ORACLE-SOURCE-STUCK']);
    assert.deepEqual(found[0]!.addresses, ['source:a']);
  });

  test('an aggregate raising MAX_MOVE is High; an unflagged aggregate is silent', () => {
    const detector = new AggregateFlagDetector(config.oracle);
    assert.deepEqual(
      run(detector, [oracle(1, { aggregate: aggregate(100n) }), oracle(2, { aggregate: aggregate(101n) })]),
      [],
    );
    const found = detector.observe(oracle(3, { aggregate: aggregate(150n, 2) }));
    assert.deepEqual(alerts(found), ['PALISADE-ORACLE-FLAGGED']);
    assert.equal(found[0]!.severity, 'High');
    assert.deepEqual(detector.observe(oracle(4, { aggregate: aggregate(150n, 2) })), [], 'only on the rise');
  });

  test('STALE is reported only once it lasts; stale blocks here and there are routine', () => {
    const detector = new AggregateFlagDetector(config.oracle);
    const inRow = config.oracle.staleBlocksInRow;
    // Stale every other block (what a loaded devnet shows), ending fresh: never a finding.
    const flapping = Array.from({ length: 41 }, (_, i) =>
      oracle(i + 1, { aggregate: aggregate(100n, i % 2) }),
    );
    assert.deepEqual(run(detector, flapping), []);
    const lasting = Array.from({ length: inRow + 3 }, (_, i) =>
      oracle(100 + i, { aggregate: aggregate(100n, 1) }),
    );
    const found = run(detector, lasting);
    assert.deepEqual(alerts(found), ['PALISADE-ORACLE-FLAGGED']);
    assert.equal(found[0]!.height, 100 + inRow - 1);
    assert.equal(found[0]!.metadata.flags, 'STALE');
  });

  test('badly signed observations from one validator are reported; late ones are routine', () => {
    const detector = new BadObservationDetector(config.oracle);
    const late = Array.from({ length: 50 }, (_, i) =>
      oracle(i + 1, {
        dropped: [
          { reason: 'STALE_TIMESTAMP', validator: bob },
          { reason: 'PREVIOUS_HEIGHT', validator: carol },
        ],
      }),
    );
    assert.deepEqual(run(detector, late), []);
    const max = config.oracle.badObservationsMax;
    const bad = Array.from({ length: max }, (_, i) =>
      oracle(100 + i, { dropped: [{ reason: 'BAD_SIGNATURE', validator: bob }] }),
    );
    const found = run(detector, bad);
    assert.deepEqual(alerts(found), ['PALISADE-ORACLE-BAD-OBSERVATION']);
    assert.deepEqual(found[0]!.addresses, [`0x${bob}`]);
    assert.equal(found[0]!.height, 100 + max - 1);
  });

  test('an observation equivocation names the validator', () => {
    const detector = new ObservationEquivocationDetector();
    assert.deepEqual(detector.observe(oracle(1, {})), []);
    const found = detector.observe(oracle(2, { equivocations: [{ validator: bob }] }));
    assert.deepEqual(alerts(found), ['PALISADE-ORACLE-EQUIVOCATION']);
    assert.deepEqual(found[0]!.addresses, [`0x${bob}`]);
  });
});

describe('trading detectors', () => {
  test('a trade far from the mark is reported; one near it, or off by a tick on a cheap option, is not', () => {
    const detector = new OffMarkTradeDetector(config.trading);
    // Mark 1,000,000 per contract with tick size 1,000: 1,000 ticks.
    assert.deepEqual(detector.observe(block(1, [fill(alice, bob, 'buy', 5, 1_100)])), []);
    const found = detector.observe(block(2, [fill(alice, bob, 'buy', 5, 1_400)]));
    assert.deepEqual(alerts(found), ['PALISADE-TRADE-OFF-MARK']);
    assert.equal(found[0]!.metadata.deviationBps, '4000');
    assert.deepEqual([...found[0]!.addresses].sort(), [`0x${alice}`, `0x${bob}`]);
    // A 3-tick option traded at 6 ticks is 100% off but only 3 ticks: under offMarkTicksMin.
    const cheap = block(3, [fill(alice, bob, 'buy', 5, 6)], {
      marks: new Map([[1, { markPrice: 3_000n, tickSize: 1_000 }]]),
    });
    assert.deepEqual(detector.observe(cheap), []);
  });

  test('self-trade', () => {
    const detector = new SelfTradeDetector();
    assert.deepEqual(detector.observe(block(1, [fill(alice, bob, 'sell', 1)])), []);
    assert.deepEqual(alerts(detector.observe(block(2, [fill(alice, alice, 'sell', 1)]))), [
      'PALISADE-SELF-TRADE',
    ]);
  });

  test('wash trading: two accounts trading back and forth within the window', () => {
    const detector = new WashTradeDetector(config.trading);
    const lots = config.trading.washLotsMin;
    // One-way flow (alice keeps buying from bob), and a third account: not wash.
    const oneWay = [1, 2, 3, 4].map((h) =>
      block(h, [fill(bob, alice, 'buy', lots), fill(carol, alice, 'buy', lots, 1_000, 9)]),
    );
    assert.deepEqual(run(detector, oneWay), []);
    // Bob now buys the same amount back from alice: positions net out, volume doubled.
    const found = detector.observe(block(5, [fill(alice, bob, 'buy', lots)]));
    assert.deepEqual(alerts(found), ['PALISADE-WASH-TRADING']);
    assert.deepEqual(found[0]!.addresses, [`0x${alice}`, `0x${bob}`]);
    assert.deepEqual(detector.observe(block(6, [fill(alice, bob, 'buy', lots)])), [], 'once per window');
  });

  test('back-and-forth trades further apart than the window are not wash', () => {
    const detector = new WashTradeDetector(config.trading);
    const lots = config.trading.washLotsMin;
    const window = config.trading.washWindowBlocks;
    assert.deepEqual(
      run(detector, [
        block(1, [fill(bob, alice, 'buy', lots)]),
        block(2 + window, [fill(alice, bob, 'buy', lots)]),
      ]),
      [],
    );
  });
});

describe('ledger detectors', () => {
  const withdrawal = (amount: bigint): EngineEvent => ({ type: 'withdrawal', account: alice, amount });

  test('a large withdrawal is reported; an ordinary one is not', () => {
    const detector = new LargeWithdrawalDetector(config.ledger);
    assert.deepEqual(detector.observe(block(1, [withdrawal(1_000_000_000n)])), []);
    const found = detector.observe(block(2, [withdrawal(config.ledger.largeWithdrawalAmount)]));
    assert.deepEqual(alerts(found), ['PALISADE-LARGE-WITHDRAWAL']);
    assert.equal(found[0]!.severity, 'Medium');
    // Over both the amount and the share of deposits: High.
    const both = detector.observe(block(3, [withdrawal(10_000_000_000_000n)]));
    assert.equal(both[0]!.severity, 'High');
  });

  const liquidation = (account: string): EngineEvent => ({
    type: 'liquidationStep',
    account,
    seriesId: 1,
    lots: 1,
    penalty: 1n,
    equityBefore: 0n,
    maintenanceBefore: 1n,
  });
  const accounts = (count: number, offset = 0) =>
    Array.from({ length: count }, (_, i) => (i + offset).toString(16).padStart(64, '0'));

  test('a liquidation cascade trips at the account count within the window', () => {
    const detector = new LiquidationCascadeDetector(config.ledger);
    const few = config.ledger.cascadeAccounts - 1;
    // A few liquidations every window: normal.
    const calm = [0, 1, 2].map((w) =>
      block(1 + w * config.ledger.cascadeWindowBlocks, accounts(few, w * 100).map(liquidation)),
    );
    assert.deepEqual(run(detector, calm), []);
    const found = detector.observe(block(100, accounts(config.ledger.cascadeAccounts, 500).map(liquidation)));
    assert.deepEqual(alerts(found), ['PALISADE-LIQUIDATION-CASCADE']);
    assert.equal(found[0]!.addresses.length, config.ledger.cascadeAccounts);
  });

  test('ADL, backstop takes and unrecovered loss are reported in the block', () => {
    const detector = new LiquidationCascadeDetector(config.ledger);
    const found = detector.observe(
      block(1, [
        { type: 'backstopTaken', account: alice, seriesId: 1, lots: 2, priceTicks: 10, cash: 5n },
        {
          type: 'autoDeleverage',
          account: bob,
          counterparty: carol,
          seriesId: 1,
          side: 'buy',
          lots: 1,
          price: 10n,
          cash: -1n,
          lossShare: 1n,
        },
        { type: 'unrecoveredLoss', account: bob, amount: 77n },
      ]),
    );
    assert.deepEqual(alerts(found).sort(), [
      'PALISADE-AUTO-DELEVERAGE',
      'PALISADE-BACKSTOP-TAKEN',
      'PALISADE-UNRECOVERED-LOSS',
    ]);
    assert.equal(found.find((f) => f.alertId === 'PALISADE-UNRECOVERED-LOSS')!.severity, 'Critical');
  });

  test('insurance-fund drawdown: reported entering it, re-armed after recovery; penalties in and small covers are not', () => {
    const detector = new InsuranceDrawdownDetector(config.ledger);
    const fund = (height: number, amount: bigint) => block(height, [], { insuranceFund: amount });
    // Grows with penalties, small covers of 5%.
    assert.deepEqual(run(detector, [fund(1, 1_000n), fund(2, 1_100n), fund(3, 1_045n), fund(4, 1_200n)]), []);
    const found = run(detector, [fund(5, 1_000n), fund(6, 900n), fund(7, 800n)]);
    assert.deepEqual(alerts(found), ['PALISADE-INSURANCE-DRAWDOWN']);
    assert.equal(found[0]!.height, 6);
    assert.deepEqual(run(detector, [fund(8, 1_000n), fund(9, 900n)]), [], 'still in the same drawdown');
    assert.equal(run(detector, [fund(10, 1_200n), fund(11, 950n)]).length, 1, 're-armed after recovering');
  });

  test('a drawdown older than the window no longer counts', () => {
    const detector = new InsuranceDrawdownDetector(
      resolveMonitorConfig({ ledger: { insuranceWindowBlocks: 10 } }).ledger,
    );
    assert.deepEqual(
      run(detector, [block(1, [], { insuranceFund: 1_000n }), block(20, [], { insuranceFund: 700n })]),
      [],
    );
  });

  test('concentrated open interest on either side; a spread-out series is not', () => {
    const detector = new ConcentrationDetector(config.ledger);
    const sample = (longs: Array<[string, number]>, shorts: Array<[string, number]>): OpenInterestSignal => ({
      kind: 'openInterest',
      height: 10,
      timeMs: 10_000,
      series: [
        {
          seriesId: 1,
          openInterestLots: 1_000,
          longs: longs.map(([account, lots]) => ({ account, lots })),
          shorts: shorts.map(([account, lots]) => ({ account, lots })),
        },
      ],
    });
    const spread: Array<[string, number]> = [
      [bob, 400],
      [carol, 300],
      [alice, 300],
    ];
    assert.deepEqual(
      detector.observe(
        sample(
          [
            [alice, 400],
            [bob, 300],
            [carol, 300],
          ],
          spread,
        ),
      ),
      [],
    );
    const found = detector.observe(
      sample(
        [
          [alice, 900],
          [bob, 100],
        ],
        spread,
      ),
    );
    assert.deepEqual(alerts(found), ['PALISADE-CONCENTRATED-OPEN-INTEREST']);
    assert.equal(found[0]!.metadata.side, 'long');
    assert.equal(found[0]!.severity, 'Medium');
    assert.deepEqual(
      detector.observe(
        sample(
          [
            [alice, 900],
            [bob, 100],
          ],
          spread,
        ),
      ),
      [],
      'once',
    );
    // A small series is below the minimum open interest.
    const small: OpenInterestSignal = {
      ...sample([[alice, 10]], [[bob, 10]]),
      series: [{ seriesId: 2, openInterestLots: 10, longs: [{ account: alice, lots: 10 }], shorts: [] }],
    };
    assert.deepEqual(detector.observe(small), []);
  });
});

describe('governance detector', () => {
  test('listings, parameter changes (clamped ones Medium), guard pauses and settlement fallbacks', () => {
    const detector = new GovernanceDetector();
    assert.deepEqual(
      detector.observe(
        block(1, [fill(alice, bob, 'buy', 1), { type: 'deposit', account: alice, amount: 5n }]),
      ),
      [],
    );
    const found = detector.observe(
      block(2, [
        { type: 'seriesListed', seriesId: 7 },
        { type: 'markVolSet', seriesId: 7, volBps: 6_000, requestedVolBps: 6_000 },
        { type: 'markVolSet', seriesId: 7, volBps: 7_000, requestedVolBps: 20_000 },
        { type: 'oracleGuardPause', underlyingId: 1, flags: 2, untilMs: 9 },
        { type: 'settlementFallback', seriesId: 7, rule: 'lastValidPrice' },
        { type: 'settlementWaiting', seriesId: 8, reason: 'NO_VALID_PRICE' },
      ]),
    );
    assert.deepEqual(alerts(found), [
      'PALISADE-SERIES-LISTED',
      'PALISADE-PARAMETER-CHANGED',
      'PALISADE-PARAMETER-CHANGED',
      'PALISADE-ORACLE-GUARD-PAUSE',
      'PALISADE-SETTLEMENT-FALLBACK',
      'PALISADE-SETTLEMENT-WAITING',
    ]);
    assert.deepEqual(
      found.filter((f) => f.alertId === 'PALISADE-PARAMETER-CHANGED').map((f) => f.severity),
      ['Low', 'Medium'],
    );
    assert.notEqual(found[1]!.id, found[2]!.id, 'two changes in one block are two findings');
    assert.deepEqual(
      detector.observe(block(3, [{ type: 'settlementWaiting', seriesId: 8, reason: 'NO_VALID_PRICE' }])),
      [],
      'waiting is reported once per series',
    );
  });
});

describe('automatic-response detector', () => {
  test('every response the engine takes is a finding: halts and throttles High, grace Medium', () => {
    const detector = new AutomaticResponseDetector();
    assert.deepEqual(detector.observe(block(1, [fill(alice, bob, 'buy', 1)])), []);
    const found = detector.observe(
      block(2, [
        {
          type: 'circuitBreakerHalt',
          underlyingId: 1,
          price: 40_000n,
          low: 57_000n,
          high: 63_000n,
          widthBps: 500,
          untilMs: 300_000,
        },
        { type: 'withdrawalsThrottled', insuranceFund: 10n, reference: 100n },
        { type: 'liquidationGrace', underlyingId: 1, untilMs: 360_000 },
        {
          type: 'parametersAdjusted',
          underlyingId: 1,
          ewmaVolBps: 9_000,
          autoVolBps: 8_000,
          scaleBps: 11_000,
        },
        { type: 'callAuction', seriesId: 3, priceTicks: 120, lots: 4 },
        { type: 'circuitBreakerReopen', underlyingId: 1 },
        { type: 'withdrawalsRestored', insuranceFund: 50n },
      ]),
    );
    assert.deepEqual(alerts(found), [
      'PALISADE-CIRCUIT-BREAKER-HALT',
      'PALISADE-WITHDRAWALS-THROTTLED',
      'PALISADE-LIQUIDATION-GRACE',
      'PALISADE-PARAMETERS-ADJUSTED',
      'PALISADE-CALL-AUCTION',
      'PALISADE-CIRCUIT-BREAKER-REOPEN',
      'PALISADE-WITHDRAWALS-RESTORED',
    ]);
    assert.deepEqual(
      found.map((f) => f.severity),
      ['High', 'High', 'Medium', 'Low', 'Info', 'Info', 'Info'],
    );
    assert.equal(found[0]!.metadata.untilMs, '300000');
    assert.equal(found[0]!.metadata.price, '40000');
    assert.equal(found[4]!.metadata.lots, '4');
  });
});
