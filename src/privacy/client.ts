/**
 * The trader's and the verifier's side of margin proofs, over the public state at one height.
 *
 * Until the engine maintains the Poseidon account tree and certified checkpoints carry its root,
 * the public state comes as a JSON document (`PublicAccountState`): the height, the maintenance
 * rate, the certified marks of every live series and every account's balance, positions and
 * registered commitment — all public on chain. The prover rebuilds the tree from it; the verifier
 * rebuilds it too, or pins the root it was given out of band (`--root`), and says so: a root the
 * caller supplies is only as good as the caller's source.
 */
import {
  accountLeaf,
  type CommittedPosition,
  type PoseidonHasher,
  PoseidonTree,
} from '../crypto/poseidon-tree.ts';
import { MarginProofError, type MarginStatement, type SeriesMark, TREE_DEPTH } from './margin-proof.ts';

export interface PublicAccount {
  index: number;
  balance: bigint;
  positions: CommittedPosition[];
  commitment: bigint;
}

export interface PublicAccountState {
  height: number;
  mmBps: number;
  series: SeriesMark[];
  accounts: PublicAccount[];
}

function fail(field: string, why: string): never {
  throw new MarginProofError('INVALID_INPUT', field, why);
}

function bigintOf(value: unknown, field: string): bigint {
  if (typeof value === 'string' && /^(0|[1-9][0-9]*)$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  return fail(field, 'not a non-negative integer (decimal string)');
}

function intOf(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  return fail(field, 'not an integer');
}

/** Parses the JSON form (integers as decimal strings). */
export function parsePublicState(json: unknown): PublicAccountState {
  if (typeof json !== 'object' || json === null) fail('state', 'not an object');
  const v = json as Record<string, unknown>;
  if (!Array.isArray(v.series)) fail('series', 'not a list');
  if (!Array.isArray(v.accounts)) fail('accounts', 'not a list');
  return {
    height: intOf(v.height, 'height'),
    mmBps: intOf(v.mmBps, 'mmBps'),
    series: (v.series as Array<Record<string, unknown>>).map((s, i) => ({
      seriesId: intOf(s.seriesId, `series[${i}].seriesId`),
      isCall:
        s.isCall === true ? true : s.isCall === false ? false : fail(`series[${i}].isCall`, 'not a boolean'),
      spot: bigintOf(s.spot, `series[${i}].spot`),
      markPerUnit: bigintOf(s.markPerUnit, `series[${i}].markPerUnit`),
      lotUnderlyingE12: bigintOf(s.lotUnderlyingE12, `series[${i}].lotUnderlyingE12`),
    })),
    accounts: (v.accounts as Array<Record<string, unknown>>).map((a, i) => ({
      index: intOf(a.index, `accounts[${i}].index`),
      balance: bigintOf(a.balance, `accounts[${i}].balance`),
      commitment: bigintOf(a.commitment, `accounts[${i}].commitment`),
      positions: Array.isArray(a.positions)
        ? (a.positions as Array<Record<string, unknown>>).map((p, j) => ({
            seriesId: intOf(p.seriesId, `accounts[${i}].positions[${j}].seriesId`),
            lots: intOf(p.lots, `accounts[${i}].positions[${j}].lots`),
          }))
        : fail(`accounts[${i}].positions`, 'not a list'),
    })),
  };
}

/** The JSON form of a state (the inverse of `parsePublicState`). */
export function publicStateJson(state: PublicAccountState): unknown {
  return {
    height: state.height,
    mmBps: state.mmBps,
    series: state.series.map((s) => ({
      seriesId: s.seriesId,
      isCall: s.isCall,
      spot: s.spot.toString(),
      markPerUnit: s.markPerUnit.toString(),
      lotUnderlyingE12: s.lotUnderlyingE12.toString(),
    })),
    accounts: state.accounts.map((a) => ({
      index: a.index,
      balance: a.balance.toString(),
      commitment: a.commitment.toString(),
      positions: a.positions,
    })),
  };
}

/** The account tree of a public state: one leaf per account with a registered commitment. */
export function accountTree(hasher: PoseidonHasher, state: PublicAccountState): PoseidonTree {
  const tree = new PoseidonTree(hasher, TREE_DEPTH);
  const seen = new Set<number>();
  for (const account of state.accounts) {
    if (seen.has(account.index)) fail('accounts', `account ${account.index} listed twice`);
    seen.add(account.index);
    tree.set(account.index, accountLeaf(hasher, { ...account, ownerCommitment: account.commitment }));
  }
  return tree;
}

/** A ratio as decimal text ("1.5") to basis points, exactly (at most 4 decimals). */
export function ratioToBps(text: string): number {
  const match = /^([0-9]{1,3})(?:\.([0-9]{1,4}))?$/.exec(text);
  if (match === null) fail('ratio', 'a decimal with at most 4 places, e.g. 1.5');
  const bps = Number(match[1]) * 10_000 + Number((match[2] ?? '').padEnd(4, '0'));
  if (bps <= 0 || bps >= 2 ** 20) fail('ratio', 'must be above 0 and below 104.8576');
  return bps;
}

export function statementOf(
  state: PublicAccountState,
  root: bigint,
  kBps: number,
  challenge: bigint,
): MarginStatement {
  return { height: state.height, root, mmBps: state.mmBps, kBps, challenge, series: state.series };
}
