/**
 * Deposits seen by 2f + 1: the validators' signed deposit reports, how a block's reports are
 * checked, and which deposits they carry to the quorum. Pure (no clock, no I/O): the block rule
 * (src/chain/block-rule.ts) runs `depositsAtQuorum` on every finalized block, a verifier refuses a
 * block for which `depositReportProblems` finds anything, and a validator's node signs its own
 * report with `createDepositReporter`.
 *
 * How a deposit gets credited:
 *   1. Each validator follows the EVM chain (follower-rpc.ts); a deposit is released to it once
 *      its block is `confirmations` deep.
 *   2. At every height it attaches to its votes a `SignedDepositReport` (src/codec/bridge.ts) of up
 *      to `MAX_REPORTED_DEPOSITS` released deposits the engine has not credited yet, lowest nonces
 *      first, beside its oracle observation (the vote extension); the proposer of that height
 *      carries the reports it holds in the block's `deposits`, like observations.
 *   3. On execution, a deposit is passed to the engine when the block holds reports of at least
 *      2f + 1 distinct validators naming the identical event: the same EVM chain id and vault (the
 *      genesis's), transaction hash, log index, account, token, amount and nonce. The engine
 *      credits a nonce once, ever (src/execution/actions/deposit.ts `creditBridgeDeposits`).
 *
 * Why f validators cannot mint: a report is signed by the validator's identity key and counted
 * once per validator, so f of them reach f, never 2f + 1; a report that differs in any field from
 * the honest ones (an amount raised, another account) counts only with those identical to it.
 * Two different contents for one nonce can both reach 2f + 1 only when more than f validators
 * signed both; then neither is credited (a conflict, never a guess).
 */
import {
  type DepositReportBody,
  DepositReportBodyCodec,
  reportCapacity,
  type SignedDepositReport,
  SignedDepositReportCodec,
} from '../../codec/bridge.ts';
import { CodecError } from '../../codec/errors.ts';
import { invariant } from '../../codec/invariant.ts';
import { bytesEqual, toHex } from '../../crypto/bytes.ts';
import { DomainTag } from '../../crypto/domain.ts';
import { type Ed25519Signer, signInDomain, verifyInDomain } from '../../crypto/ed25519.ts';
import type { DepositEvent } from './deposits.ts';

/** The EVM side a network bridges to, from its genesis. */
export interface BridgeDomain {
  readonly evmChainId: number;
  /** The vault contract's 20-byte address. */
  readonly vault: Uint8Array;
}

export interface DepositQuorumRules {
  readonly chainId: number;
  /** Ed25519 identity keys of the validators, by index. */
  readonly validators: readonly Uint8Array[];
  /** Undefined: the network has no bridge, and a block carrying a report is refused. */
  readonly bridge: BridgeDomain | undefined;
}

export type DepositReportProblemReason =
  | 'no-bridge'
  | 'malformed'
  | 'unknown-validator'
  | 'bad-signature'
  | 'wrong-chain'
  | 'wrong-height'
  | 'wrong-bridge'
  | 'repeated-validator';

export interface DepositReportProblem {
  readonly index: number;
  readonly reason: DepositReportProblemReason;
}

/** One deposit that 2f + 1 validators reported identically in a block. */
export interface QuorumDeposit {
  readonly nonce: number;
  readonly transactionHash: Uint8Array;
  readonly logIndex: number;
  readonly account: Uint8Array;
  readonly token: Uint8Array;
  readonly amount: bigint;
  /** The reporting validators' indexes, ascending. */
  readonly validators: readonly number[];
}

export interface BlockDeposits {
  /** At quorum, ascending by nonce. */
  readonly deposits: QuorumDeposit[];
  /** Nonces for which two different contents both reached the quorum (none credited). */
  readonly conflicts: number[];
  readonly problems: DepositReportProblem[];
}

/** 2f + 1 of n, with f = ⌊(n − 1) / 3⌋. */
export function depositQuorum(validators: number): number {
  return 2 * Math.floor((validators - 1) / 3) + 1;
}

/** Signs a report body with the validator's identity key. */
export function signDepositReport(signer: Ed25519Signer, body: DepositReportBody): SignedDepositReport {
  const signature = signInDomain(
    signer,
    DomainTag.depositReport,
    body.chainId,
    DepositReportBodyCodec.encode(body),
  );
  return { body, signature };
}

/** Checks the signature against the key the report names; `false`, never a throw. */
export function verifyDepositReportSignature(report: SignedDepositReport): boolean {
  try {
    return verifyInDomain(
      report.body.validator,
      DomainTag.depositReport,
      report.body.chainId,
      DepositReportBodyCodec.encode(report.body),
      report.signature,
    );
  } catch {
    return false;
  }
}

function decodeReport(bytes: Uint8Array): SignedDepositReport | undefined {
  try {
    return SignedDepositReportCodec.decode(bytes);
  } catch (error) {
    if (error instanceof CodecError) return undefined;
    throw error;
  }
}

/** One report's problem, or undefined after recording it as valid. */
function reportProblem(
  rules: DepositQuorumRules,
  height: number,
  bytes: Uint8Array,
  seen: Set<number>,
  valid: { validator: number; report: SignedDepositReport }[],
): DepositReportProblemReason | undefined {
  if (rules.bridge === undefined) return 'no-bridge';
  const report = decodeReport(bytes);
  if (report === undefined) return 'malformed';
  const { body } = report;
  const validator = rules.validators.findIndex((key) => bytesEqual(key, body.validator));
  if (validator < 0) return 'unknown-validator';
  if (body.chainId !== rules.chainId) return 'wrong-chain';
  if (body.height !== height) return 'wrong-height';
  if (body.evmChainId !== rules.bridge.evmChainId || !bytesEqual(body.vault, rules.bridge.vault))
    return 'wrong-bridge';
  if (!verifyDepositReportSignature(report)) return 'bad-signature';
  if (seen.has(validator)) return 'repeated-validator';
  seen.add(validator);
  valid.push({ validator, report });
  return undefined;
}

/**
 * Checks a block's reports; the valid ones with their validator index. Every problem is listed:
 * a verifier refuses a block with any, so a proposer carries only reports that pass.
 */
function checkReports(
  rules: DepositQuorumRules,
  height: number,
  list: readonly Uint8Array[],
): { valid: { validator: number; report: SignedDepositReport }[]; problems: DepositReportProblem[] } {
  const problems: DepositReportProblem[] = [];
  const valid: { validator: number; report: SignedDepositReport }[] = [];
  const seen = new Set<number>();
  for (const [index, bytes] of list.entries()) {
    const reason = reportProblem(rules, height, bytes, seen, valid);
    if (reason !== undefined) problems.push({ index, reason });
  }
  return { valid, problems };
}

/** What a verifier refuses in a block's reports (empty: every one is acceptable). */
export function depositReportProblems(
  rules: DepositQuorumRules,
  height: number,
  list: readonly Uint8Array[],
): DepositReportProblem[] {
  return checkReports(rules, height, list).problems;
}

function contentKey(deposit: SignedDepositReport['body']['deposits'][number]): string {
  return [
    deposit.nonce,
    toHex(deposit.transactionHash),
    deposit.logIndex,
    toHex(deposit.account),
    toHex(deposit.token),
    deposit.amount,
  ].join(':');
}

/** One content reported for a nonce in a block, with the validators that reported exactly it. */
export interface DepositTally {
  readonly nonce: number;
  readonly transactionHash: Uint8Array;
  readonly logIndex: number;
  readonly account: Uint8Array;
  readonly token: Uint8Array;
  readonly amount: bigint;
  /** The reporting validators' indexes, ascending. */
  readonly validators: readonly number[];
}

/**
 * Every content a block's valid reports name, per nonce (ascending), most reporters first (ties
 * by the content's encoding): what `depositsAtQuorum` counts, and what a node shows of deposits
 * still short of the quorum. Reports with a problem count for nothing; each validator counts
 * once per nonce.
 * @example const tallies = depositTallies(rules, block.height, payload.deposits);
 */
export function depositTallies(
  rules: DepositQuorumRules,
  height: number,
  list: readonly Uint8Array[],
): { tallies: Map<number, DepositTally[]>; problems: DepositReportProblem[] } {
  const { valid, problems } = checkReports(rules, height, list);
  // nonce → content key → { the deposit, its reporters }
  const byNonce = new Map<
    number,
    Map<string, { deposit: SignedDepositReport['body']['deposits'][number]; validators: number[] }>
  >();
  for (const { validator, report } of valid) {
    for (const deposit of report.body.deposits) {
      let contents = byNonce.get(deposit.nonce);
      if (contents === undefined) {
        contents = new Map();
        byNonce.set(deposit.nonce, contents);
      }
      const key = contentKey(deposit);
      const entry = contents.get(key) ?? { deposit, validators: [] };
      // The codec keeps one entry per nonce in a report and the check one report per validator.
      entry.validators.push(validator);
      contents.set(key, entry);
    }
  }
  const tallies = new Map<number, DepositTally[]>();
  for (const nonce of [...byNonce.keys()].sort((a, b) => a - b)) {
    const contents = [...byNonce.get(nonce)!.entries()]
      .sort(([keyA, a], [keyB, b]) => b.validators.length - a.validators.length || (keyA < keyB ? -1 : 1))
      .map(([, { deposit, validators }]) => ({
        nonce,
        transactionHash: deposit.transactionHash,
        logIndex: deposit.logIndex,
        account: deposit.account,
        token: deposit.token,
        amount: deposit.amount,
        validators: [...validators].sort((a, b) => a - b),
      }));
    tallies.set(nonce, contents);
  }
  return { tallies, problems };
}

/**
 * The deposits a block's reports carry to 2f + 1 (the block rule's step). Reports with a problem
 * count for nothing; each validator counts once per nonce.
 * @example const { deposits } = depositsAtQuorum(rules, block.height, payload.deposits);
 */
export function depositsAtQuorum(
  rules: DepositQuorumRules,
  height: number,
  list: readonly Uint8Array[],
): BlockDeposits {
  const { tallies, problems } = depositTallies(rules, height, list);
  const quorum = depositQuorum(rules.validators.length);
  const deposits: QuorumDeposit[] = [];
  const conflicts: number[] = [];
  for (const [nonce, contents] of tallies) {
    const reached = contents.filter((entry) => entry.validators.length >= quorum);
    if (reached.length > 1) {
      conflicts.push(nonce);
      continue;
    }
    if (reached[0] !== undefined) deposits.push(reached[0]);
  }
  return { deposits, conflicts, problems };
}

export interface DepositReporter {
  /** A deposit the follower released (confirmed); kept until the engine has credited it. */
  add(deposit: DepositEvent): void;
  /**
   * This validator's signed report for `height` (encoded), of the lowest uncredited nonces that
   * fit `maxBytes` (default: a full report), or undefined when it holds none or none fits.
   */
  report(height: number, maxBytes?: number): Uint8Array | undefined;
  /** Released, not yet credited. */
  readonly pending: number;
}

/**
 * One validator's reporter: fed by its follower, asked by its vote extension.
 * @example const reporter = createDepositReporter({ signer, chainId, bridge, isCredited: (n) => engine.depositCredited(n) });
 */
export function createDepositReporter(options: {
  signer: Ed25519Signer;
  chainId: number;
  bridge: BridgeDomain;
  isCredited: (nonce: number) => boolean;
  /** Released deposits kept at most (the oldest nonces win; default 4096). */
  pendingMax?: number;
}): DepositReporter {
  const pendingMax = options.pendingMax ?? 4096;
  const pending = new Map<number, DepositEvent>();
  return {
    get pending() {
      return pending.size;
    },
    add(deposit) {
      invariant(
        deposit.nonce > 0n && deposit.nonce <= BigInt(Number.MAX_SAFE_INTEGER),
        'nonce is a safe integer',
      );
      const nonce = Number(deposit.nonce);
      if (options.isCredited(nonce) || pending.has(nonce)) return;
      if (pending.size >= pendingMax) return;
      pending.set(nonce, deposit);
    },
    report(height, maxBytes = SignedDepositReportCodec.maxBytes) {
      for (const nonce of [...pending.keys()]) if (options.isCredited(nonce)) pending.delete(nonce);
      const capacity = reportCapacity(maxBytes);
      if (pending.size === 0 || capacity === 0) return undefined;
      const nonces = [...pending.keys()].sort((a, b) => a - b).slice(0, capacity);
      const body: DepositReportBody = {
        chainId: options.chainId,
        height,
        validator: options.signer.publicKey,
        evmChainId: options.bridge.evmChainId,
        vault: options.bridge.vault,
        deposits: nonces.map((nonce) => {
          const deposit = pending.get(nonce)!;
          return {
            transactionHash: deposit.transactionHash,
            logIndex: deposit.logIndex,
            account: deposit.account,
            token: deposit.token,
            amount: deposit.amount,
            nonce,
          };
        }),
      };
      return SignedDepositReportCodec.encode(signDepositReport(options.signer, body));
    },
  };
}
