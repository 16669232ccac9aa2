/**
 * Every detector threshold, with the default and why. docs/ops/findings.md lists the same table
 * for operators; `validateMonitorConfig` refuses values out of range (a zero window or a negative
 * threshold would silence a detector or make it fire on everything).
 *
 * Units are last in names: `…Ms` milliseconds, `…Blocks` finalized blocks, `…Bps` basis points of
 * the reference value, `…Lots` lots, `…Amount` quote base units (6 decimals for USDC-like quotes).
 */
import { MonitorError } from './finding.ts';

export interface MonitorConfig {
  consensus: {
    /** Views passed without a finalization before a run is reported (honest runs are 1–2 views). */
    nullificationRunViews: number;
    /** A block slower than this from proposal to finality is a breach… */
    finalityLatencyMsMax: number;
    /** …reported after this many breaches in a row (one slow block is noise). */
    finalityBreachesInRow: number;
  };
  peers: {
    /** Message faults from one peer within the window that make it suspicious. */
    peerFaultsMax: number;
    peerFaultWindowMs: number;
    /** Drop reasons that are the sender's fault (others, such as stale votes, are normal). */
    faultReasons: readonly string[];
    /** Handshakes that presented the wrong key for a validator's address, within the window. */
    authFailuresMax: number;
    /** Refused stranger connections within the window that make a flood. */
    strangerRefusalsMax: number;
    strangerWindowMs: number;
    /** Refusal reasons that are authentication failures (someone claiming a validator's place). */
    authFailureReasons: readonly string[];
    /** A second finding of the same kind about the same peer waits at least this long. */
    cooldownMs: number;
  };
  mempool: {
    /** Refused submissions (of the spam codes) within the window that make a spam finding. */
    refusalsMax: number;
    windowMs: number;
    spamCodes: readonly string[];
    /** Mempool fill, in bps of its capacity, that is reported as saturation. */
    saturationBps: number;
    cooldownMs: number;
  };
  oracle: {
    /** Own observation vs the aggregate: farther than this… */
    ownDeviationBps: number;
    /** …for this many blocks in a row is a finding (own sources broken, or the aggregate moved). */
    ownDeviationBlocks: number;
    /** A source farther than this from the median of the other sources… */
    sourceDivergenceBps: number;
    /** …in this many samples in a row is diverging. */
    sourceDivergenceSamples: number;
    /** A source whose price has not changed in this long while the others moved… */
    sourceStuckMs: number;
    /** …by at least this much is stuck. */
    sourceStuckMoveBps: number;
    /**
     * A STALE aggregate (fewer than 2f + 1 fresh observations) in this many blocks in a row is
     * reported; single stale blocks are routine (a proposal built before the observations arrived:
     * about one block in six on a loaded devnet, measured).
     */
    staleBlocksInRow: number;
    /** Observations dropped for a reason that is the signer's fault, from one validator… */
    badObservationsMax: number;
    /** …within this many blocks. */
    badObservationWindowBlocks: number;
    /** Aggregation drop reasons that are the signer's fault (late or surplus ones are not). */
    badObservationReasons: readonly string[];
    /** Sources × assets tracked at most (bounded memory against a flood of source ids). */
    trackedSourcesMax: number;
  };
  trading: {
    /** A fill farther than this from the series' mark… */
    offMarkBps: number;
    /** …and by at least this many ticks (cheap options move in whole ticks) is off-mark. */
    offMarkTicksMin: number;
    /** Wash trading: both directions of a pair of accounts on one series, each at least this… */
    washLotsMin: number;
    /** …within this many blocks. */
    washWindowBlocks: number;
    /** Account pairs tracked at most; the oldest are forgotten first. */
    trackedPairsMax: number;
  };
  ledger: {
    /** One withdrawal of at least this much is large. */
    largeWithdrawalAmount: bigint;
    /** …or of at least this share of all deposits ever made. */
    largeWithdrawalShareBps: number;
    /** Accounts liquidated within the window that make a cascade. */
    cascadeAccounts: number;
    cascadeWindowBlocks: number;
    /** Insurance fund below its peak within the window by this much is a drawdown. */
    insuranceDrawdownBps: number;
    insuranceWindowBlocks: number;
    /** One account's share of a series' open interest (either side) that is concentrated… */
    concentrationBps: number;
    /** …in a series with at least this much open interest. */
    concentrationLotsMin: number;
  };
  keygen: {
    /**
     * A key generation still running this long after its own deadlines (deals + complaints,
     * counted from its start) is stalled. Past the complaint deadline an honest session only
     * waits for the attestation round, one broadcast re-sent every second: a minute is sixty
     * rounds, far beyond any honest delay, and short next to a genesis that never certifies.
     */
    stallGraceMs: number;
  };
}

/** Above a day a stall alert is too late to act on (a typo such as an extra zero, more likely). */
const KEYGEN_STALL_GRACE_MS_MAX = 86_400_000;

export const DEFAULT_MONITOR_CONFIG: MonitorConfig = deepFreeze({
  consensus: { nullificationRunViews: 5, finalityLatencyMsMax: 2_000, finalityBreachesInRow: 3 },
  peers: {
    peerFaultsMax: 20,
    peerFaultWindowMs: 60_000,
    faultReasons: [
      'consensus/malformed',
      'consensus/oversized',
      'consensus/unknown-type',
      'consensus/sender-mismatch',
      'consensus/bad-signature',
      'consensus/bad-extension',
      'consensus/bad-certificate',
      'consensus/digest-mismatch',
      'consensus/invalid-proposal',
      'transport/oversize_frame',
      'transport/rate_limited',
      'transport/no_handler',
    ],
    authFailuresMax: 3,
    strangerRefusalsMax: 200,
    strangerWindowMs: 10_000,
    authFailureReasons: ['wrong_peer_key', 'own_key', 'wrong_direction'],
    cooldownMs: 300_000,
  },
  mempool: {
    refusalsMax: 1_000,
    windowMs: 10_000,
    spamCodes: [
      'MALFORMED',
      'TOO_LARGE',
      'WRONG_CHAIN',
      'BAD_SIGNATURE',
      'RATE_LIMITED',
      'GLOBAL_RATE_LIMITED',
      'NO_ACCOUNT',
      'MEMPOOL_FULL',
      'DUPLICATE',
    ],
    saturationBps: 9_000,
    cooldownMs: 300_000,
  },
  oracle: {
    ownDeviationBps: 200,
    ownDeviationBlocks: 3,
    sourceDivergenceBps: 300,
    sourceDivergenceSamples: 5,
    sourceStuckMs: 60_000,
    sourceStuckMoveBps: 20,
    staleBlocksInRow: 5,
    badObservationsMax: 3,
    badObservationWindowBlocks: 100,
    badObservationReasons: [
      'MALFORMED',
      'WRONG_CHAIN',
      'UNKNOWN_SIGNER',
      'BAD_SIGNATURE',
      'FUTURE_TIMESTAMP',
      'REPLAYED',
    ],
    trackedSourcesMax: 1_024,
  },
  trading: {
    offMarkBps: 3_000,
    offMarkTicksMin: 5,
    washLotsMin: 10,
    washWindowBlocks: 100,
    trackedPairsMax: 10_000,
  },
  ledger: {
    largeWithdrawalAmount: 1_000_000_000_000n,
    largeWithdrawalShareBps: 500,
    cascadeAccounts: 5,
    cascadeWindowBlocks: 20,
    insuranceDrawdownBps: 2_000,
    insuranceWindowBlocks: 600,
    concentrationBps: 5_000,
    concentrationLotsMin: 100,
  },
  keygen: { stallGraceMs: 60_000 },
});

export type MonitorConfigOverrides = {
  [Section in keyof MonitorConfig]?: Partial<MonitorConfig[Section]>;
};

/**
 * The defaults with `overrides` applied, checked.
 * @example const config = resolveMonitorConfig({ trading: { offMarkBps: 1_000 } });
 * @throws MonitorError (INVALID_CONFIG) naming the first value out of range
 */
export function resolveMonitorConfig(overrides: MonitorConfigOverrides = {}): MonitorConfig {
  const config = {} as Record<string, unknown>;
  for (const section of Object.keys(DEFAULT_MONITOR_CONFIG) as (keyof MonitorConfig)[]) {
    config[section] = { ...DEFAULT_MONITOR_CONFIG[section], ...overrides[section] };
  }
  for (const section of Object.keys(overrides)) {
    if (!(section in DEFAULT_MONITOR_CONFIG))
      throw new MonitorError('INVALID_CONFIG', section, 'is not a monitor section');
  }
  validateMonitorConfig(config as unknown as MonitorConfig);
  return deepFreeze(config as unknown as MonitorConfig);
}

/** @throws MonitorError (INVALID_CONFIG) naming the first value out of range */
export function validateMonitorConfig(config: MonitorConfig): void {
  for (const [sectionName, section] of Object.entries(config)) {
    const defaults = (DEFAULT_MONITOR_CONFIG as unknown as Record<string, Record<string, unknown>>)[
      sectionName
    ];
    for (const [name, value] of Object.entries(section as Record<string, unknown>)) {
      const field = `${sectionName}.${name}`;
      const expected = defaults?.[name];
      if (expected === undefined) throw new MonitorError('INVALID_CONFIG', field, 'is not a setting');
      if (typeof expected === 'bigint') {
        if (typeof value !== 'bigint' || value <= 0n)
          throw new MonitorError('INVALID_CONFIG', field, 'must be a positive bigint');
      } else if (Array.isArray(expected)) {
        if (!Array.isArray(value) || value.length > 64 || value.some((entry) => typeof entry !== 'string'))
          throw new MonitorError('INVALID_CONFIG', field, 'must be at most 64 strings');
      } else if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
        throw new MonitorError('INVALID_CONFIG', field, 'must be a positive integer');
      } else if (name.endsWith('Bps') && value > 1_000_000) {
        throw new MonitorError('INVALID_CONFIG', field, 'must be at most 1,000,000 bps');
      } else if (field === 'keygen.stallGraceMs' && value > KEYGEN_STALL_GRACE_MS_MAX) {
        throw new MonitorError('INVALID_CONFIG', field, 'must be at most 86,400,000 ms (a day)');
      }
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
