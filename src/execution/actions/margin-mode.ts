/** `SetMarginMode`: standard or portfolio, only when the account covers its initial margin in the new mode. */
import { MARGIN_MODE, type SetMarginMode } from '../../codec/execution.ts';
import { accountFor } from '../accounts.ts';
import { assess } from '../assess.ts';
import type { EngineState, Handled } from '../state.ts';

export function setMarginMode(s: EngineState, signer: Uint8Array, action: SetMarginMode): Handled {
  const account = accountFor(s, signer);
  const mode = action.mode === MARGIN_MODE.portfolio ? MARGIN_MODE.portfolio : MARGIN_MODE.standard;
  const previous = account.marginMode;
  account.marginMode = mode;
  const assessment = assess(s, account);
  if (assessment === undefined || assessment.equity < assessment.initial) {
    account.marginMode = previous;
    return { status: assessment === undefined ? 'NO_MARK_PRICE' : 'INSUFFICIENT_MARGIN' };
  }
  s.dirtyAccounts.add(account);
  s.events.push({
    type: 'marginModeSet',
    account: account.key,
    mode: mode === MARGIN_MODE.portfolio ? 'portfolio' : 'standard',
  });
  return { status: 'OK' };
}
