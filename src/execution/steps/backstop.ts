/** The insurance fund's backstop account takes a liquidation step it can carry (src/execution/backstop.ts). */
import { MARGIN_MODE } from '../../codec/execution.ts';
import { createAccount } from '../accounts.ts';
import { assess } from '../assess.ts';
import { BACKSTOP_PUBLIC_KEY, backstopCanCarry } from '../backstop.ts';
import {
  type Account,
  BACKSTOP_KEY,
  type EngineState,
  MAX_POSITIONS_PER_ACCOUNT,
  type Series,
} from '../state.ts';
import { setPosition } from '../trading.ts';

/** The backstop account takes `lots` at `priceTicks` if the fund can carry it (backstop.ts). */
export function backstopStep(
  s: EngineState,
  account: Account,
  series: Series,
  buying: boolean,
  lots: number,
  priceTicks: number,
): boolean {
  const seriesId = series.seriesId;
  const premium = BigInt(lots) * BigInt(priceTicks) * series.lotValuePerTick;
  const existing = s.accounts.get(BACKSTOP_KEY);
  const fundLotsAfter = (existing?.positions.get(seriesId) ?? 0) + (buying ? -lots : lots);
  const positions = new Map(existing?.positions ?? []);
  if (fundLotsAfter === 0) positions.delete(seriesId);
  else positions.set(seriesId, fundLotsAfter);
  if (positions.size > MAX_POSITIONS_PER_ACCOUNT) return false;
  const probe: Account = {
    index: existing?.index ?? -1,
    key: BACKSTOP_KEY,
    publicKey: BACKSTOP_PUBLIC_KEY,
    nonce: 0,
    balance: (existing?.balance ?? 0n) + (buying ? premium : -premium),
    marginMode: MARGIN_MODE.standard,
    positions,
    entryCosts: new Map(),
    openOrders: new Map(),
    clientOrderIds: [],
  };
  const after = assess(s, probe);
  if (after === undefined || !backstopCanCarry(after, s.insuranceFund)) return false;
  const fund = existing ?? createAccount(s, BACKSTOP_PUBLIC_KEY);
  const cash = buying ? -premium : premium;
  account.balance += cash;
  fund.balance -= cash;
  setPosition(s, account, series, (account.positions.get(seriesId) ?? 0) + (buying ? lots : -lots), -cash);
  setPosition(s, fund, series, fundLotsAfter, cash);
  s.dirtyAccounts.add(account);
  s.dirtyAccounts.add(fund);
  s.events.push({ type: 'backstopTaken', account: account.key, seriesId, lots, priceTicks, cash });
  return true;
}
