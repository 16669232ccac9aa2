import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUY, createOrderBook, type RestingOrder, SELL } from './book.ts';

function rest(
  book: ReturnType<typeof createOrderBook>,
  orderId: number,
  owner: number,
  side: 0 | 1,
  priceTicks: number,
  lots: number,
) {
  return book.add({
    orderId,
    owner,
    side,
    priceTicks,
    remainingLots: lots,
    clientOrderId: 0,
    reduceOnly: false,
  });
}

test('price-time priority: better price first, then the earlier order at the same price', () => {
  const book = createOrderBook();
  rest(book, 1, 1, SELL, 101, 5);
  rest(book, 2, 2, SELL, 100, 3);
  rest(book, 3, 3, SELL, 100, 4);
  const fills: Array<[number, number, number]> = [];
  const remaining = book.match(BUY, 101, 10, 9, {
    onFill: (maker: RestingOrder, lots, price) => fills.push([maker.orderId, lots, price]),
    onSelfTradeCancel: () => assert.fail('no self trade here'),
  });
  assert.equal(remaining, 0);
  assert.deepEqual(fills, [
    [2, 3, 100],
    [3, 4, 100],
    [1, 3, 101],
  ]);
  assert.deepEqual(book.depth(SELL, 5), [[101, 2, 1]]);
});

test('a limit stops at its price; cancel from the middle of a queue keeps the rest in order', () => {
  const book = createOrderBook();
  rest(book, 1, 1, BUY, 99, 1);
  rest(book, 2, 2, BUY, 99, 2);
  rest(book, 3, 3, BUY, 99, 3);
  rest(book, 4, 4, BUY, 98, 7);
  assert.equal(book.cancel(2)?.orderId, 2);
  assert.equal(book.cancel(2), undefined);
  assert.deepEqual(book.depth(BUY, 5), [
    [99, 4, 2],
    [98, 7, 1],
  ]);
  const makers: number[] = [];
  const left = book.match(SELL, 99, 10, 9, {
    onFill: (maker) => makers.push(maker.orderId),
    onSelfTradeCancel: () => {},
  });
  assert.equal(left, 6); // 1 + 3 lots at 99; 98 is below the limit
  assert.deepEqual(makers, [1, 3]);
  assert.equal(book.bestBid(), 98);
  assert.equal(book.fillableLots(SELL, undefined, 100, 9), 7);
  assert.equal(book.fillableLots(SELL, undefined, 100, 4), 0); // only the owner's own order is left
  assert.equal(book.wouldCross(SELL, 98, 4), false);
  assert.equal(book.wouldCross(SELL, 98, 5), true);
});
