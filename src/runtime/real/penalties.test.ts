import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDropCounterPenalties } from './penalties.ts';

test('only new drops are charged, at the weight of their reason; unweighted reasons are free', () => {
  const charges: [number, string, number | undefined][] = [];
  const feed = createDropCounterPenalties(
    { penalize: (peer, reason, points) => charges.push([peer, reason, points]) },
    { malformed: 10, 'bad-signature': 25, stale: 0 },
  );
  feed.update({ 1: { malformed: 2, stale: 40 }, 3: { 'bad-signature': 1, unsolicited: 5 } });
  feed.update({ 1: { malformed: 2, stale: 90 }, 3: { 'bad-signature': 3 } });
  feed.update({ 1: { malformed: 1 } });
  feed.update({ 1: { malformed: 4 } });
  assert.deepEqual(charges, [
    [1, 'malformed', 20],
    [3, 'bad-signature', 25],
    [3, 'bad-signature', 50],
    [1, 'malformed', 30],
  ]);
});

test('negative weights are refused', () => {
  assert.throws(() => createDropCounterPenalties({ penalize: () => {} }, { malformed: -1 }), RangeError);
});
