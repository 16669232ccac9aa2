/**
 * Defaults of the parameters issue 15 added (volatility, automatic responses): a genesis file
 * written before them omits them and gets these (src/node/genesis.ts); the test fixtures use them.
 */
import type { EngineParameters } from './types.ts';

export type AdaptiveParameterKey = 'volLambdaBps' | 'volLambdaIntervalMs' | 'volSampleIntervalMs';

export const ADAPTIVE_PARAMETER_DEFAULTS: Readonly<Pick<EngineParameters, AdaptiveParameterKey>> =
  Object.freeze({
    // RiskMetrics' daily decay, scaled to the spacing of samples (at most one a second).
    volLambdaBps: 9400,
    volLambdaIntervalMs: 86_400_000,
    volSampleIntervalMs: 1000,
  });
