/** `CancelOrder` and `CancelAll`: the signer's own resting orders, in order id order. */
import type { CancelAll, CancelOrder } from '../../codec/execution.ts';
import { accountFor } from '../accounts.ts';
import { type EngineState, type Handled, hexKey } from '../state.ts';
import { removeOrder } from '../trading.ts';

export function cancelOrder(s: EngineState, signer: Uint8Array, action: CancelOrder): Handled {
  const account = s.accounts.get(hexKey(signer));
  const order = account?.openOrders.get(action.orderId);
  if (account === undefined || order === undefined) return { status: 'UNKNOWN_ORDER' };
  removeOrder(s, order, 'user');
  return { status: 'OK', orderId: order.orderId };
}

export function cancelAll(s: EngineState, signer: Uint8Array, action: CancelAll): Handled {
  if (action.seriesId !== 0 && !s.seriesById.has(action.seriesId)) return { status: 'UNKNOWN_SERIES' };
  const account = accountFor(s, signer);
  const orders = [...account.openOrders.values()]
    .filter(
      (order) => action.seriesId === 0 || s.orderSeries.get(order.orderId)?.seriesId === action.seriesId,
    )
    .sort((a, b) => a.orderId - b.orderId);
  for (const order of orders) removeOrder(s, order, 'user');
  return { status: 'OK' };
}
