/**
 * Governance actions (rules: src/execution/governance.ts): submitting a proposal, running a
 * governance action once its signatures (and for timelocked kinds, its timelock) allow it, and the
 * block step that executes queued proposals whose time has come.
 */
import { CodecError } from '../../codec/errors.ts';
import {
  decodeGovernanceAction,
  GOVERNANCE_QUEUE_MAX,
  GOVERNANCE_USED_IDS_MAX,
  type GovernanceAction,
  type GovernanceProposal,
  type ListSeries,
  type SetMarkVol,
  VALIDATOR_CHANGE,
} from '../../codec/execution.ts';
import { toHex } from '../../crypto/bytes.ts';
import {
  configFromValue,
  countedSigners,
  governanceClassOf,
  governanceConfigProblem,
  PROPOSAL_LIFETIME_MAX_MS,
} from '../governance.ts';
import { governedParameterProblem } from '../governance-parameters.ts';
import { boundedVolChange } from '../risk.ts';
import { listSeries, seriesProblem } from '../series.ts';
import type { EngineState, Handled } from '../state.ts';
import type { EngineParameters, SeriesConfig } from '../types.ts';
import { applyValidatorBoundary, scheduleValidatorChange, validatorChangeProblem } from '../validator-set.ts';

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** A transaction carrying a governance action without a proposal: no key acts alone. */
export function unwrappedGovernance(): Handled {
  return { status: 'UNAUTHORIZED' };
}

/**
 * Accepts a proposal whose signatures suffice: emergencies and lifts run at once, the rest is queued
 * for `timelockMs` (run at once when it is 0). Every refusal leaves the state untouched.
 */
export function submitProposal(s: EngineState, proposal: GovernanceProposal): Handled {
  const governance = s.governance;
  if (s.timeMs > proposal.expiryMs) return { status: 'PROPOSAL_EXPIRED' };
  if (proposal.expiryMs - s.timeMs > PROPOSAL_LIFETIME_MAX_MS)
    return { status: 'INVALID_PROPOSAL', field: 'expiryMs' };
  if (governance.used.some((entry) => entry.proposalId === proposal.proposalId))
    return { status: 'PROPOSAL_REPLAYED' };
  let action: GovernanceAction;
  try {
    action = decodeGovernanceAction(proposal.action);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    return { status: 'MALFORMED_PAYLOAD', field: `action.${error.field}` };
  }
  const kind = governanceClassOf(action);
  const governors = countedSigners(s.chainId, proposal, governance.config.governors);
  const guardians = countedSigners(s.chainId, proposal, governance.config.guardians);
  const enough =
    governors.length >= governance.config.threshold ||
    (kind === 'emergency' &&
      governance.config.guardianThreshold > 0 &&
      guardians.length >= governance.config.guardianThreshold);
  if (!enough) return { status: 'INSUFFICIENT_SIGNATURES' };
  const problem = governedProblem(s, action);
  if (problem !== undefined) return { status: 'INVALID_PROPOSAL', field: problem };
  const queued = kind === 'timelocked' && governance.config.timelockMs > 0;
  if (governance.used.length >= GOVERNANCE_USED_IDS_MAX) return { status: 'TOO_MANY_PROPOSALS' };
  if (queued && governance.queue.length >= GOVERNANCE_QUEUE_MAX) return { status: 'TOO_MANY_PROPOSALS' };
  governance.used.push({ proposalId: proposal.proposalId, expiryMs: proposal.expiryMs });
  governance.used.sort((a, b) => a.proposalId - b.proposalId);
  governance.dirty = true;
  // Each counted key's first 6 bytes (hex): identifies the signers within the audit log's value bound.
  const signers = [...new Set([...governors, ...guardians])]
    .sort()
    .map((key) => key.slice(0, 12))
    .join(',');
  if (!queued) {
    s.events.push({
      type: 'governanceExecuted',
      proposalId: proposal.proposalId,
      action: action.kind,
      signers,
    });
    return runGoverned(s, proposal.proposalId, action);
  }
  const executeAtMs = s.timeMs + governance.config.timelockMs;
  governance.queue.push({
    proposalId: proposal.proposalId,
    executeAtMs,
    action: Uint8Array.from(proposal.action),
  });
  governance.queue.sort((a, b) => a.executeAtMs - b.executeAtMs || a.proposalId - b.proposalId);
  s.events.push({
    type: 'governanceQueued',
    proposalId: proposal.proposalId,
    action: action.kind,
    executeAtMs,
    signers,
  });
  return { status: 'OK' };
}

/**
 * Block step 2c, first: at an epoch boundary with a change pending, the validator set changes
 * (src/execution/validator-set.ts); the consensus set of the views after this block follows it.
 */
export function applyEpochBoundary(s: EngineState): void {
  if (s.validatorSet === undefined) return;
  const applied = applyValidatorBoundary(s.validatorSet, s.height);
  if (applied === undefined) return;
  s.events.push({
    type: 'validatorSetChanged',
    proposalId: applied.proposalId,
    epoch: s.validatorSet.epoch,
    validators: s.validatorSet.members.length,
    publicKey: `0x${toHex(applied.change.publicKey)}`,
  });
}

/**
 * Block step 2c (after reopening, before the transactions): queued proposals whose timelock has
 * ended run, in (time, id) order; ids whose expiry has passed are forgotten (a replay is expired).
 */
export function executeDueProposals(s: EngineState): void {
  const governance = s.governance;
  const before = governance.used.length;
  governance.used = governance.used.filter((entry) => entry.expiryMs >= s.timeMs);
  if (governance.used.length !== before) governance.dirty = true;
  while (governance.queue.length > 0 && governance.queue[0]!.executeAtMs <= s.timeMs) {
    const due = governance.queue.shift()!;
    governance.dirty = true;
    const action = decodeGovernanceAction(due.action);
    const problem = governedProblem(s, action);
    if (problem !== undefined) {
      s.events.push({
        type: 'governanceFailed',
        proposalId: due.proposalId,
        action: action.kind,
        reason: problem,
      });
      continue;
    }
    s.events.push({ type: 'governanceExecuted', proposalId: due.proposalId, action: action.kind });
    const handled = runGoverned(s, due.proposalId, action);
    if (handled.status !== 'OK')
      s.events.push({
        type: 'governanceFailed',
        proposalId: due.proposalId,
        action: action.kind,
        reason: handled.status,
      });
  }
}

/** Why `action` cannot run now (a field), or undefined; checked at acceptance and again at execution. */
function governedProblem(s: EngineState, action: GovernanceAction): string | undefined {
  const governance = s.governance;
  switch (action.kind) {
    case 'listSeries':
      return seriesProblem({ ...action.value }, s.underlyings.get(action.value.underlyingId), s.timeMs) ===
        undefined
        ? undefined
        : 'action.listSeries';
    case 'setMarkVol':
      return s.seriesById.has(action.value.seriesId) ? undefined : 'action.seriesId';
    case 'haltMarkets':
      return action.value.underlyingId === 0 || s.underlyings.has(action.value.underlyingId)
        ? undefined
        : 'action.underlyingId';
    case 'resumeMarkets':
      return governance.halted.has(action.value.underlyingId) ? undefined : 'action.underlyingId';
    case 'cancelProposal':
      return governance.queue.some((entry) => entry.proposalId === action.value.proposalId)
        ? undefined
        : 'action.proposalId';
    case 'setGovernance':
      return governanceConfigProblem(configFromValue(action.value)) === undefined
        ? undefined
        : 'action.governance';
    case 'changeValidators':
      return validatorChangeProblem(s.validatorSet, action.value);
    case 'setParameter': {
      let name: string;
      try {
        name = textDecoder.decode(action.value.name);
      } catch {
        return 'action.name';
      }
      return governedParameterProblem(s.params, name, action.value.value);
    }
  }
}

/** Runs an authorised governance action (its checks passed); emits its event. */
function runGoverned(s: EngineState, proposalId: number, action: GovernanceAction): Handled {
  const governance = s.governance;
  switch (action.kind) {
    case 'listSeries':
      return governanceList(s, action.value);
    case 'setMarkVol':
      return setMarkVol(s, action.value);
    case 'haltMarkets':
      governance.halted.add(action.value.underlyingId);
      governance.dirty = true;
      s.events.push({ type: 'governanceHalt', proposalId, underlyingId: action.value.underlyingId });
      return { status: 'OK' };
    case 'resumeMarkets':
      governance.halted.delete(action.value.underlyingId);
      governance.dirty = true;
      s.events.push({ type: 'governanceResume', proposalId, underlyingId: action.value.underlyingId });
      return { status: 'OK' };
    case 'cancelProposal':
      governance.queue = governance.queue.filter((entry) => entry.proposalId !== action.value.proposalId);
      governance.dirty = true;
      s.events.push({ type: 'proposalCancelled', proposalId, cancelled: action.value.proposalId });
      return { status: 'OK' };
    case 'setGovernance':
      governance.config = configFromValue(action.value);
      governance.dirty = true;
      s.events.push({
        type: 'governanceChanged',
        proposalId,
        governors: governance.config.governors.length,
        threshold: governance.config.threshold,
        guardians: governance.config.guardians.length,
        guardianThreshold: governance.config.guardianThreshold,
        timelockMs: governance.config.timelockMs,
      });
      return { status: 'OK' };
    case 'changeValidators': {
      const effectiveHeight = scheduleValidatorChange(s.validatorSet!, proposalId, action.value, s.height);
      s.events.push({
        type: 'validatorChangeScheduled',
        proposalId,
        op: action.value.op === VALIDATOR_CHANGE.add ? 'add' : 'remove',
        publicKey: `0x${toHex(action.value.publicKey)}`,
        effectiveHeight,
      });
      return { status: 'OK' };
    }
    case 'setParameter': {
      const name = textDecoder.decode(action.value.name) as keyof EngineParameters;
      const previous = s.params[name];
      (s.params as unknown as Record<string, number>)[name] = action.value.value;
      governance.parameters.set(name, action.value.value);
      governance.dirty = true;
      s.events.push({ type: 'parameterSet', proposalId, name, value: action.value.value, previous });
      return { status: 'OK' };
    }
  }
}

function governanceList(s: EngineState, action: ListSeries): Handled {
  const config: SeriesConfig = { ...action };
  if (seriesProblem(config, s.underlyings.get(config.underlyingId), s.timeMs) !== undefined)
    return { status: 'INVALID_SERIES' };
  if (s.seriesById.size >= s.params.maxSeries) return { status: 'TOO_MANY_SERIES' };
  listSeries(s, config);
  return { status: 'OK' };
}

function setMarkVol(s: EngineState, action: SetMarkVol): Handled {
  const series = s.seriesById.get(action.seriesId);
  if (series === undefined) return { status: 'UNKNOWN_SERIES' };
  const { minVolBps, maxVolBps } = series.underlying;
  const requested = Math.min(Math.max(action.volBps, minVolBps), maxVolBps);
  // At most `maxVolChangeBpsPerHour` per hour of block time since the last change (src/execution/risk.ts).
  series.markVolBps = boundedVolChange(
    series.markVolBps,
    requested,
    series.markVolSetMs,
    s.timeMs,
    s.params.maxVolChangeBpsPerHour,
  );
  // 0 means "never set"; a block at time 0 still starts the clock.
  series.markVolSetMs = Math.max(s.timeMs, 1);
  s.markCache.delete(series.seriesId);
  s.dirtySeries.add(series);
  s.events.push({
    type: 'markVolSet',
    seriesId: series.seriesId,
    volBps: series.markVolBps,
    requestedVolBps: action.volBps,
  });
  return { status: 'OK' };
}
