/**
 * Defaults of the parameters issue 15 added (volatility, automatic responses): a genesis file
 * written before them omits them and gets these (src/node/genesis.ts); the test fixtures use them.
 */
import type { EngineParameters } from './types.ts';

export type AdaptiveParameterKey =
  | 'volLambdaBps'
  | 'volLambdaIntervalMs'
  | 'volSampleIntervalMs'
  | 'breakerWindowMs'
  | 'breakerVolMultipleBps'
  | 'breakerFloorBps'
  | 'breakerMaxBps'
  | 'breakerHaltMs'
  | 'autoMinDelayMs'
  | 'autoMaxStepBps'
  | 'autoMaxPeriodBps'
  | 'autoPeriodMs'
  | 'autoScaleMaxBps'
  | 'withdrawDrawdownBps'
  | 'withdrawDrawdownWindowMs'
  | 'withdrawCapPerBlock'
  | 'liquidationGraceMs';

export const ADAPTIVE_PARAMETER_DEFAULTS: Readonly<Pick<EngineParameters, AdaptiveParameterKey>> =
  Object.freeze({
    // RiskMetrics' daily decay, scaled to the spacing of samples (at most one a second).
    volLambdaBps: 9400,
    volLambdaIntervalMs: 86_400_000,
    volSampleIntervalMs: 1000,
    // A 15-minute window, 4 σ of a 15-minute move but at least 5% and at most 20%, 2-minute halts
    // (CME's equity-index dynamic limits halt for 2 minutes).
    breakerWindowMs: 15 * 60_000,
    breakerVolMultipleBps: 40_000,
    breakerFloorBps: 500,
    breakerMaxBps: 2_000,
    breakerHaltMs: 2 * 60_000,
    // Stewards: at most one change a minute, 10% of the value each, 50% of it an hour; the band
    // and initial margin at most 3× their genesis values.
    autoMinDelayMs: 60_000,
    autoMaxStepBps: 1_000,
    autoMaxPeriodBps: 5_000,
    autoPeriodMs: 3_600_000,
    autoScaleMaxBps: 30_000,
    // A fund 10% down within the hour: at most 100,000 USDC of withdrawals a block.
    withdrawDrawdownBps: 1_000,
    withdrawDrawdownWindowMs: 3_600_000,
    withdrawCapPerBlock: 100_000 * 1_000_000,
    // Ten seconds for accounts to add margin after a flagged-price pause, before liquidation.
    liquidationGraceMs: 10_000,
  });
