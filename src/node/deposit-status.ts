/**
 * What a node shows of bridge deposits (GET /v1/bridge/deposits, docs/api.md "Deposits"): for
 * each vault nonce seen in the finalized blocks' deposit reports, whether the engine credited it,
 * or who has reported it so far against the 2f + 1 it needs.
 *
 * Source. After each applied block the node passes the block's reports (`payload.deposits`) and
 * the validator set of the block's epoch (the set before the block applied: a boundary block that
 * changes the set is still counted by the outgoing one, as the block rule counts it); they are
 * counted with the block rule's own check (src/interop/evm/deposit-quorum.ts
 * `depositTallies`), so a report that the rule ignores — a key outside the set, another vault or
 * chain, a bad signature — adds no reporter here either. The content shown for a nonce is the one
 * with the most reporters in the latest block that carried reports for it; `contents` counts the
 * distinct contents that block carried (above 1: some validator reported a different event).
 * Credited comes from the engine (`isCredited`), the authority; a nonce credited before this node
 * kept its reports (before a restart) reads as credited with its event fields null.
 *
 * Kept in memory, at most `maxEntries` nonces (credited ones forgotten first, lowest nonce first).
 */
import { toHex } from '../crypto/bytes.ts';
import { type DepositQuorumRules, depositQuorum, depositTallies } from '../interop/evm/deposit-quorum.ts';
import { unitsOf } from './api/bridge.ts';

/** Nonces kept when the caller does not say: far above the deposits between two credits. */
export const DEFAULT_DEPOSIT_STATUS_ENTRIES = 4096;

export type DepositState = 'pending' | 'credited';

export interface DepositStatusJson {
  nonce: number;
  status: DepositState;
  /** 2f + 1 of the validator set. */
  quorum: number;
  validators: number;
  /** Indexes of the validators that reported the content shown, ascending. */
  reporters: number[];
  reported: number;
  /** Distinct contents reported for this nonce in the latest block carrying it. */
  contents: number;
  /** The latest block that carried reports for it, or null. */
  height: number | null;
  /** The block that credited it, when this node saw it; else null. */
  creditedHeight: number | null;
  transactionHash: string | null;
  logIndex: number | null;
  account: string | null;
  token: string | null;
  /** Token base units (money). */
  amount: string | null;
  amountDecimal: string | null;
}

export interface DepositStatusQuery {
  readonly status?: DepositState;
  readonly limit: number;
}

export interface DepositStatus {
  /**
   * The reports of block `height`, read after the engine applied it, counted against `validators`
   * (the keys of the block's epoch, by index; default the rules' genesis list).
   */
  onBlock(height: number, reports: readonly Uint8Array[], validators?: readonly Uint8Array[]): void;
  /** The status of a vault nonce, or undefined when neither reported nor credited. */
  get(nonce: number): DepositStatusJson | undefined;
  /** Kept nonces, highest first. */
  list(query: DepositStatusQuery): DepositStatusJson[];
}

interface Entry {
  json: DepositStatusJson;
}

const hex = (bytes: Uint8Array) => `0x${toHex(bytes)}`;

/**
 * @example const deposits = createDepositStatus({ rules, isCredited: (n) => engine.depositCredited(n) });
 * @throws RangeError when `maxEntries` is not a positive integer
 */
export function createDepositStatus(options: {
  rules: DepositQuorumRules;
  isCredited: (nonce: number) => boolean;
  maxEntries?: number;
}): DepositStatus {
  const maxEntries = options.maxEntries ?? DEFAULT_DEPOSIT_STATUS_ENTRIES;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
    throw new RangeError('maxEntries must be a positive integer');
  const entries = new Map<number, Entry>();
  /** The size of the set the latest reports were counted against: what a nonce not seen needs. */
  let setSize = options.rules.validators.length;

  const empty = (nonce: number, validators = setSize): DepositStatusJson => ({
    nonce,
    status: 'pending',
    quorum: depositQuorum(validators),
    validators,
    reporters: [],
    reported: 0,
    contents: 0,
    height: null,
    creditedHeight: null,
    transactionHash: null,
    logIndex: null,
    account: null,
    token: null,
    amount: null,
    amountDecimal: null,
  });

  const current = (json: DepositStatusJson): DepositStatusJson => ({
    ...json,
    reporters: [...json.reporters],
    status: json.creditedHeight !== null || options.isCredited(json.nonce) ? 'credited' : 'pending',
  });

  const evict = () => {
    while (entries.size > maxEntries) {
      const nonces = [...entries.keys()].sort((a, b) => a - b);
      const victim =
        nonces.find((nonce) => current(entries.get(nonce)!.json).status === 'credited') ?? nonces[0]!;
      entries.delete(victim);
    }
  };

  return {
    onBlock(height, reports, validators = options.rules.validators) {
      setSize = validators.length;
      if (reports.length > 0 && options.rules.bridge !== undefined) {
        const rules =
          validators === options.rules.validators ? options.rules : { ...options.rules, validators };
        const { tallies } = depositTallies(rules, height, reports);
        for (const [nonce, contents] of tallies) {
          const existing = entries.get(nonce);
          if (existing?.json.creditedHeight !== null && existing !== undefined) continue;
          const lead = contents[0]!;
          entries.set(nonce, {
            json: {
              ...empty(nonce, validators.length),
              reporters: [...lead.validators],
              reported: lead.validators.length,
              contents: contents.length,
              height,
              transactionHash: hex(lead.transactionHash),
              logIndex: lead.logIndex,
              account: hex(lead.account),
              token: hex(lead.token),
              amount: lead.amount.toString(),
              amountDecimal: unitsOf(lead.amount),
            },
          });
        }
      }
      for (const entry of entries.values())
        if (entry.json.creditedHeight === null && options.isCredited(entry.json.nonce))
          entry.json.creditedHeight = height;
      evict();
    },
    get(nonce) {
      const entry = entries.get(nonce);
      if (entry !== undefined) return current(entry.json);
      return options.isCredited(nonce) ? { ...empty(nonce), status: 'credited' } : undefined;
    },
    list(query) {
      const out: DepositStatusJson[] = [];
      for (const nonce of [...entries.keys()].sort((a, b) => b - a)) {
        if (out.length >= query.limit) break;
        const json = current(entries.get(nonce)!.json);
        if (query.status === undefined || json.status === query.status) out.push(json);
      }
      return out;
    },
  };
}
