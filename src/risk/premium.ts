/**
 * The risk premium: expected loss, in basis points of open interest per year, of trading on the
 * network measured. It is a small explicit model, not a forecast: three failure modes, each a
 * probability from the measured figures and the printed assumptions, times a loss given failure.
 *
 *   safety    P(at least k of the m independent groups of the binding dimension are compromised
 *             within a year), each with probability `groupCompromisePerYear`, k the Nakamoto
 *             coefficient for safety (binomial tail) × `lossGivenSafetyFailureBps`
 *   liveness  hours per year without finality: 8,760 × P(more of the connected validators are down
 *             at once than the liveness margin allows), each down a `validatorUnavailability`
 *             share of the time (binomial tail; a network halted now counts every hour)
 *             × `lossPerHaltedHourBps`
 *   pricing   settlements per year × P(a bad price reaches settlement) × `lossGivenBadSettlementBps`,
 *             where a bad aggregate needs f + 1 bad observations in one block (the median
 *             tolerates f), each bad with the measured share of validators whose observations left
 *             the median by more than `badObservationBps` (at least `observationErrorFloor`), plus
 *             the share of assets stale now × `staleSettlementBadShare`
 *   bridge    not applicable until the bridge serves its state
 *
 * Independence is the model's strongest assumption: correlated groups (one cloud region, one
 * custody vendor) make every tail larger, which is why undeclared metadata counts as one group.
 */
export interface PremiumAssumptions {
  groupCompromisePerYear: number;
  lossGivenSafetyFailureBps: number;
  validatorUnavailability: number;
  lossPerHaltedHourBps: number;
  settlementsPerYear: number;
  badObservationBps: number;
  observationErrorFloor: number;
  staleSettlementBadShare: number;
  lossGivenBadSettlementBps: number;
}

export const DEFAULT_PREMIUM_ASSUMPTIONS: PremiumAssumptions = Object.freeze({
  groupCompromisePerYear: 0.02,
  lossGivenSafetyFailureBps: 10_000,
  validatorUnavailability: 0.01,
  lossPerHaltedHourBps: 1,
  settlementsPerYear: 365,
  badObservationBps: 200,
  observationErrorFloor: 0.001,
  staleSettlementBadShare: 0.1,
  lossGivenBadSettlementBps: 500,
});

const ASSUMPTION_TEXT: Record<keyof PremiumAssumptions, string> = {
  groupCompromisePerYear:
    'chance an independent operator/jurisdiction/hosting/custody group is compromised in a year',
  lossGivenSafetyFailureBps: 'loss of open interest when two conflicting blocks finalize (all of it)',
  validatorUnavailability: 'share of the time one validator is down, independently of the others',
  lossPerHaltedHourBps:
    'loss of open interest per hour without finality (positions that cannot be hedged or liquidated)',
  settlementsPerYear: 'settlements (expiries and liquidation marks that matter) per year',
  badObservationBps: 'distance from the median beyond which an observation counts as bad',
  observationErrorFloor: 'least chance an observation is bad, whatever the window measured',
  staleSettlementBadShare: 'chance a settlement at a stale price is a bad one',
  lossGivenBadSettlementBps: 'loss of open interest when a bad price settles',
};

export interface PremiumInputs {
  validators: number;
  nakamotoSafety: number;
  groupsInBindingDimension: number;
  connectedValidators: number;
  /** −1 when finality has stopped. */
  livenessMarginValidators: number;
  faultTolerance: number;
  badObservationShare: number;
  stalePriceShare: number;
}

export interface ExpectedLoss {
  expectedLossBpsPerYear: number;
  components: {
    safety: { probabilityPerYear: number; lossBps: number; method: string };
    liveness: { haltedHoursPerYear: number; lossBps: number; method: string };
    pricing: { badSettlementProbability: number; lossBps: number; method: string };
    bridge: { lossBps: 0; status: 'not-applicable'; method: string };
  };
  inputs: PremiumInputs;
  assumptions: Array<{ name: keyof PremiumAssumptions; value: number; meaning: string }>;
  model: string;
}

/** P(X ≥ k) for X ~ Binomial(n, p). */
export function binomialTail(n: number, p: number, k: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  let term = (1 - p) ** n;
  let below = 0;
  for (let i = 0; i < k; i++) {
    below += term;
    term = (term * (n - i) * p) / ((i + 1) * (1 - p));
  }
  return Math.min(1, Math.max(0, 1 - below));
}

/**
 * The expected loss of {@link PremiumInputs} under `assumptions`.
 * @example expectedLoss(inputs, DEFAULT_PREMIUM_ASSUMPTIONS).expectedLossBpsPerYear
 */
export function expectedLoss(inputs: PremiumInputs, assumptions: PremiumAssumptions): ExpectedLoss {
  const a = assumptions;
  const safetyProbability = binomialTail(
    inputs.groupsInBindingDimension,
    a.groupCompromisePerYear,
    inputs.nakamotoSafety,
  );
  const haltedShare =
    inputs.livenessMarginValidators < 0
      ? 1
      : binomialTail(
          inputs.connectedValidators,
          a.validatorUnavailability,
          inputs.livenessMarginValidators + 1,
        );
  const haltedHours = 8760 * haltedShare;
  const observationBad = Math.max(a.observationErrorFloor, inputs.badObservationShare);
  const badSettlement = Math.min(
    1,
    binomialTail(inputs.validators, observationBad, inputs.faultTolerance + 1) +
      inputs.stalePriceShare * a.staleSettlementBadShare,
  );
  const safetyLoss = safetyProbability * a.lossGivenSafetyFailureBps;
  const livenessLoss = haltedHours * a.lossPerHaltedHourBps;
  const pricingLoss = Math.min(10_000, a.settlementsPerYear * badSettlement * a.lossGivenBadSettlementBps);
  return {
    expectedLossBpsPerYear: Math.min(10_000, safetyLoss + livenessLoss + pricingLoss),
    components: {
      safety: {
        probabilityPerYear: safetyProbability,
        lossBps: safetyLoss,
        method: `P(Binomial(${inputs.groupsInBindingDimension}, ${a.groupCompromisePerYear}) ≥ ${inputs.nakamotoSafety}) × ${a.lossGivenSafetyFailureBps} bps`,
      },
      liveness: {
        haltedHoursPerYear: haltedHours,
        lossBps: livenessLoss,
        method:
          inputs.livenessMarginValidators < 0
            ? 'finality has stopped: every hour counts'
            : `8760 h × P(Binomial(${inputs.connectedValidators}, ${a.validatorUnavailability}) ≥ ${inputs.livenessMarginValidators + 1}) × ${a.lossPerHaltedHourBps} bps/h`,
      },
      pricing: {
        badSettlementProbability: badSettlement,
        lossBps: pricingLoss,
        method: `${a.settlementsPerYear} × (P(Binomial(${inputs.validators}, ${observationBad.toFixed(4)}) ≥ ${inputs.faultTolerance + 1}) + ${inputs.stalePriceShare.toFixed(2)} stale × ${a.staleSettlementBadShare}) × ${a.lossGivenBadSettlementBps} bps`,
      },
      bridge: { lossBps: 0, status: 'not-applicable', method: 'no bridge state served' },
    },
    inputs,
    assumptions: (Object.keys(ASSUMPTION_TEXT) as Array<keyof PremiumAssumptions>).map((name) => ({
      name,
      value: a[name],
      meaning: ASSUMPTION_TEXT[name],
    })),
    model:
      'expected loss = safety + liveness + pricing (+ bridge), each a probability from the measured figures times a loss given failure; groups assumed independent (src/risk/premium.ts)',
  };
}
