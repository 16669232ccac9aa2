/**
 * Accounts: creation (genesis, a deposit of at least the minimum, the backstop), the genesis keys
 * that act without one, and the count the `maxAccounts` cap meets.
 */
import { MARGIN_MODE } from '../codec/execution.ts';
import { invariant } from '../codec/invariant.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import { isGovernanceKey } from './governance.ts';
import { type Account, type EngineState, hexKey } from './state.ts';

export function createAccount(s: EngineState, publicKey: Uint8Array): Account {
  const key = hexKey(publicKey);
  invariant(!s.accounts.has(key), 'account exists');
  const account: Account = {
    index: s.accountsByIndex.length,
    key,
    publicKey: Uint8Array.from(publicKey),
    nonce: 0,
    balance: 0n,
    marginMode: MARGIN_MODE.standard,
    positions: new Map(),
    entryCosts: new Map(),
    openOrders: new Map(),
    clientOrderIds: [],
  };
  s.accounts.set(key, account);
  s.accountsByIndex.push(account);
  s.dirtyAccounts.add(account);
  s.newAccounts.push(account);
  return account;
}

/**
 * The genesis keys (operator, governance) act without a deposit: their record, which holds their
 * The genesis keys (operator, the current governors and guardians) act without a deposit: their record, which holds their
 * nonce, is created by their first accepted action. Every other key needs an account, which only
 * genesis or a deposit of at least `minDepositForAccount` creates.
 */
export function isGenesisKey(s: EngineState, publicKey: Uint8Array): boolean {
  return bytesEqual(publicKey, s.operator) || isGovernanceKey(s.governance.config, publicKey);
}

/** Accounts counted against `maxAccounts`: all but the operator's and the governance keys' records. */
export function countedAccounts(s: EngineState): number {
  const keys = new Set(
    [s.operator, ...s.governance.config.governors, ...s.governance.config.guardians].map(hexKey),
  );
  let genesisRecords = 0;
  for (const key of keys) if (s.accounts.has(key)) genesisRecords += 1;
  return s.accounts.size - genesisRecords;
}

/** The signer's account; `applyTransaction` lets only existing accounts and genesis keys get here. */
export function accountFor(s: EngineState, publicKey: Uint8Array): Account {
  const account = s.accounts.get(hexKey(publicKey));
  if (account !== undefined) return account;
  invariant(isGenesisKey(s, publicKey), 'an action from a key without an account passed admission');
  return createAccount(s, publicKey);
}
