/**
 * Auto-deleveraging: a step the book and the backstop could not take is closed against the
 * opposite positions, ranked by profit for equity (src/execution/liquidation.ts), at the mark less
 * each counterparty's share of the deficit.
 */
import { divCeil, divFloor, ONE } from '../../std/fixed.ts';
import { liquidationHealth } from '../assess.ts';
import { deficitShare, deleverageOrder } from '../liquidation.ts';
import type { Account, EngineState, MarkEntry, Series } from '../state.ts';
import { setPosition } from '../trading.ts';

/**
 * Auto-deleveraging: closes `lots` against the opposite positions, ranked (liquidation.ts), at
 * the mark less each counterparty's share of the account's deficit.
 */
export function deleverageStep(
  s: EngineState,
  account: Account,
  series: Series,
  mark: MarkEntry,
  lots: number,
  equity: bigint,
): number {
  const seriesId = series.seriesId;
  const buying = (account.positions.get(seriesId) ?? 0) < 0;
  const ranked = deleverageOrder(
    [...series.holders]
      .filter((index) => index !== account.index)
      .map((index) => {
        const counterparty = s.accountsByIndex[index]!;
        const opposite = counterparty.positions.get(seriesId) ?? 0;
        const health = liquidationHealth(s, counterparty);
        const value = divFloor(BigInt(opposite) * mark.markPerLot, ONE);
        return {
          index,
          lots: buying ? opposite : -opposite,
          profit: value - (counterparty.entryCosts.get(seriesId) ?? 0n),
          equity: health === undefined ? undefined : health.equity,
        };
      })
      .filter((candidate) => candidate.lots > 0),
  );
  let deficit = equity < 0n ? -equity : 0n;
  let accountLots = 0;
  for (const held of account.positions.values()) accountLots += Math.abs(held);
  let left = lots;
  for (const candidate of ranked) {
    if (left === 0) break;
    const counterparty = s.accountsByIndex[candidate.index]!;
    const k = Math.min(left, candidate.lots);
    const markValue = buying
      ? divCeil(BigInt(k) * mark.markPerLot, ONE)
      : divFloor(BigInt(k) * mark.markPerLot, ONE);
    const share = deficitShare(deficit, k, accountLots, candidate.equity ?? 0n);
    const cash = buying ? share - markValue : markValue + share;
    account.balance += cash;
    counterparty.balance -= cash;
    setPosition(s, account, series, (account.positions.get(seriesId) ?? 0) + (buying ? k : -k), -cash);
    setPosition(
      s,
      counterparty,
      series,
      (counterparty.positions.get(seriesId) ?? 0) + (buying ? -k : k),
      cash,
    );
    s.dirtyAccounts.add(account);
    s.dirtyAccounts.add(counterparty);
    s.socializedLossTotal += share;
    s.events.push({
      type: 'autoDeleverage',
      account: account.key,
      counterparty: counterparty.key,
      seriesId,
      side: buying ? 'buy' : 'sell',
      lots: k,
      price: (buying ? -cash : cash) / BigInt(k),
      cash,
      lossShare: share,
    });
    deficit -= share;
    accountLots -= k;
    left -= k;
  }
  return lots - left;
}
