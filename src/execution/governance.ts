/**
 * Governance without a single key (issue 15). Genesis names governors (Ed25519 keys) with a
 * threshold m, guardians with a lower threshold g, and a timelock. Every governance action arrives
 * wrapped in a `GovernanceProposal` (src/codec/execution.ts) whose signatures are counted here:
 *
 *   digest  = PALISADE/GOVERNANCE/PROPOSAL/v1 ‖ chain id ‖ u64 proposalId ‖ u64 expiryMs ‖ action
 *   signers = the distinct keys of the counted set whose Ed25519 signature over the digest verifies
 *
 * A key listed twice counts once, a key outside the set counts nothing, a bad signature counts
 * nothing. The chain id is in the digest, so a proposal signed for another chain never verifies.
 *
 * What each action needs ({@link governanceClassOf}):
 *   - `haltMarkets`: g guardians (or m governors); takes effect in the transaction;
 *   - `resumeMarkets`, `cancelProposal`: m governors; in the transaction (a pause is cheap to set and
 *     dear to lift: a guardian key alone, or g of them, can never reopen what they halted);
 *   - everything else (`listSeries`, `setMarkVol`, `setParameter`, `setGovernance`, and any kind
 *     added later unless it says otherwise): m governors, then the timelock: the proposal is queued
 *     and executed by the first block whose time reaches acceptance + `timelockMs`
 *     (src/execution/actions/governance.ts), unless m governors cancel it first.
 *
 * Replay: a proposal id is accepted once. Ids of accepted proposals are kept until their expiry has
 * passed (after which the proposal is refused as expired anyway); an expiry may lie at most
 * `PROPOSAL_LIFETIME_MAX_MS` ahead, so the set stays bounded by what a month of proposals can hold.
 */
import {
  GOVERNANCE_KEYS_MAX,
  type GovernanceAction,
  type GovernanceConfigValue,
  type GovernanceProposal,
  type GovernanceRecord,
} from '../codec/execution.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { DomainTag, domainMessage } from '../crypto/domain.ts';
import { type Ed25519Signer, ed25519Verify } from '../crypto/ed25519.ts';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** How far ahead of the block time a proposal's expiry may lie (30 days). */
export const PROPOSAL_LIFETIME_MAX_MS = 30 * 24 * 3600 * 1000;

/** The governor and guardian sets (genesis `engine.governance`, or the last `setGovernance`). */
export interface GovernanceConfig {
  governors: Uint8Array[];
  /** m: governor signatures every action needs. */
  threshold: number;
  guardians: Uint8Array[];
  /** g: guardian signatures a halt needs. */
  guardianThreshold: number;
  timelockMs: number;
}

export interface QueuedProposal {
  proposalId: number;
  executeAtMs: number;
  /** The wrapped action's encoding, as signed. */
  action: Uint8Array;
}

/** Governance's part of the engine state, committed as one `GovernanceRecord`. */
export interface GovernanceState {
  config: GovernanceConfig;
  /** Accepted proposal ids whose expiry has not passed, ascending by id. */
  used: Array<{ proposalId: number; expiryMs: number }>;
  /** Timelocked proposals, by (executeAtMs, proposalId). */
  queue: QueuedProposal[];
  /** Underlyings halted by governance; `ALL_UNDERLYINGS` (0) halts every one. */
  halted: Set<number>;
  /** Parameters governance set, by name: they override genesis (`s.params` holds them applied). */
  parameters: Map<string, number>;
  /** Changed in the block being applied (the commit step writes the record). */
  dirty: boolean;
}

export type GovernanceClass = 'emergency' | 'immediate' | 'timelocked';

/** Which signatures an action needs and when it runs (see the header). */
export function governanceClassOf(action: GovernanceAction): GovernanceClass {
  switch (action.kind) {
    case 'haltMarkets':
      return 'emergency';
    case 'resumeMarkets':
    case 'cancelProposal':
      return 'immediate';
    default:
      return 'timelocked';
  }
}

/** Why a governance configuration cannot be used, or undefined. */
export function governanceConfigProblem(config: GovernanceConfig): string | undefined {
  const { governors, guardians, threshold, guardianThreshold, timelockMs } = config;
  if (governors.length < 1 || governors.length > GOVERNANCE_KEYS_MAX)
    return `governors: 1 to ${GOVERNANCE_KEYS_MAX} keys`;
  if (guardians.length > GOVERNANCE_KEYS_MAX) return `guardians: at most ${GOVERNANCE_KEYS_MAX} keys`;
  for (const list of [governors, guardians]) {
    if (list.some((key) => key.length !== 32)) return 'keys are 32 bytes';
    if (new Set(list.map(toHex)).size !== list.length) return 'a key is listed twice';
  }
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > governors.length)
    return 'threshold: 1 to the number of governors';
  const guardianLimit = guardians.length;
  if (
    !Number.isSafeInteger(guardianThreshold) ||
    guardianThreshold > guardianLimit ||
    (guardianLimit > 0 && guardianThreshold < 1) ||
    (guardianLimit === 0 && guardianThreshold !== 0)
  )
    return 'guardianThreshold: 1 to the number of guardians (0 without guardians)';
  if (guardianThreshold > threshold) return 'guardianThreshold: at most threshold (a pause is easier to set)';
  if (!Number.isSafeInteger(timelockMs) || timelockMs < 0) return 'timelockMs: a non-negative integer';
  return undefined;
}

function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), false);
  return out;
}

/** The bytes each governor or guardian signs for a proposal (see the header). */
export function proposalDigest(
  chainId: number,
  proposalId: number,
  expiryMs: number,
  action: Uint8Array,
): Uint8Array {
  const body = new Uint8Array(16 + action.length);
  body.set(u64(proposalId), 0);
  body.set(u64(expiryMs), 8);
  body.set(action, 16);
  return domainMessage(DomainTag.governanceProposal, chainId, body);
}

/**
 * One governor's or guardian's signature on a proposal.
 * @example const entry = signProposal(signer, 7, { proposalId: 1, expiryMs, action });
 */
export function signProposal(
  signer: Ed25519Signer,
  chainId: number,
  proposal: { proposalId: number; expiryMs: number; action: Uint8Array },
): { publicKey: Uint8Array; signature: Uint8Array } {
  const message = proposalDigest(chainId, proposal.proposalId, proposal.expiryMs, proposal.action);
  return { publicKey: Uint8Array.from(signer.publicKey), signature: signer.sign(message) };
}

/**
 * The distinct members of `keys` that validly signed the proposal, as hex, ascending: a key given
 * twice counts once, a key outside `keys` or a signature that does not verify counts nothing.
 */
export function countedSigners(
  chainId: number,
  proposal: GovernanceProposal,
  keys: readonly Uint8Array[],
): string[] {
  const message = proposalDigest(chainId, proposal.proposalId, proposal.expiryMs, proposal.action);
  const signers = new Set<string>();
  for (const entry of proposal.signatures) {
    if (!keys.some((key) => bytesEqual(key, entry.publicKey))) continue;
    const hex = toHex(entry.publicKey);
    if (signers.has(hex)) continue;
    if (ed25519Verify(entry.publicKey, message, entry.signature)) signers.add(hex);
  }
  return [...signers].sort();
}

/** Whether governance halted this underlying (or everything). */
export function governanceHalted(governance: GovernanceState, underlyingId: number): boolean {
  return governance.halted.has(0) || governance.halted.has(underlyingId);
}

/** Whether `publicKey` is a current governor or guardian (they act without a deposit). */
export function isGovernanceKey(config: GovernanceConfig, publicKey: Uint8Array): boolean {
  return (
    config.governors.some((key) => bytesEqual(key, publicKey)) ||
    config.guardians.some((key) => bytesEqual(key, publicKey))
  );
}

export function configValue(config: GovernanceConfig): GovernanceConfigValue {
  return {
    governors: config.governors.map((key) => Uint8Array.from(key)),
    threshold: config.threshold,
    guardians: config.guardians.map((key) => Uint8Array.from(key)),
    guardianThreshold: config.guardianThreshold,
    timelockMs: config.timelockMs,
  };
}

export function configFromValue(value: GovernanceConfigValue): GovernanceConfig {
  return configValue(value);
}

/** A fresh governance state under `config` (genesis). */
export function initialGovernance(config: GovernanceConfig): GovernanceState {
  return {
    config: configValue(config),
    used: [],
    queue: [],
    halted: new Set(),
    parameters: new Map(),
    dirty: true,
  };
}

/** The record the state root commits (and a snapshot holds). */
export function governanceRecord(governance: GovernanceState): GovernanceRecord {
  return {
    config: configValue(governance.config),
    used: governance.used.map((entry) => ({ ...entry })),
    queue: governance.queue.map((entry) => ({ ...entry, action: Uint8Array.from(entry.action) })),
    halted: [...governance.halted].sort((a, b) => a - b),
    parameters: [...governance.parameters.keys()]
      .sort()
      .map((name) => ({ name: textEncoder.encode(name), value: governance.parameters.get(name)! })),
  };
}

/** Rebuilds the state a record holds; undefined-free: the caller checks consistency. */
export function governanceFromRecord(record: GovernanceRecord): GovernanceState {
  return {
    config: configFromValue(record.config),
    used: record.used.map((entry) => ({ ...entry })),
    queue: record.queue.map((entry) => ({ ...entry, action: Uint8Array.from(entry.action) })),
    halted: new Set(record.halted),
    parameters: new Map(record.parameters.map((entry) => [textDecoder.decode(entry.name), entry.value])),
    dirty: true,
  };
}

/** What the API shows of governance: the sets, the queue and the halts. */
export interface GovernanceView {
  governors: string[];
  threshold: number;
  guardians: string[];
  guardianThreshold: number;
  timelockMs: number;
  queue: Array<{ proposalId: number; executeAtMs: number }>;
  /** Underlyings halted by governance (0: every one). */
  halted: number[];
}

export function governanceView(governance: GovernanceState): GovernanceView {
  return {
    governors: governance.config.governors.map((key) => `0x${toHex(key)}`),
    threshold: governance.config.threshold,
    guardians: governance.config.guardians.map((key) => `0x${toHex(key)}`),
    guardianThreshold: governance.config.guardianThreshold,
    timelockMs: governance.config.timelockMs,
    queue: governance.queue.map((entry) => ({
      proposalId: entry.proposalId,
      executeAtMs: entry.executeAtMs,
    })),
    halted: [...governance.halted].sort((a, b) => a - b),
  };
}
