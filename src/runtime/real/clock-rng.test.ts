import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRealClock } from './clock.ts';
import { createRealRng } from './rng.ts';

test('the real clock starts near zero, never decreases, and fires timers after their delay', async () => {
  const clock = createRealClock();
  const start = clock.now();
  assert.ok(start >= 0 && start < 1000);
  let previous = start;
  for (let i = 0; i < 1000; i += 1) {
    const now = clock.now();
    assert.ok(now >= previous);
    previous = now;
  }
  const firedAt = await new Promise<number>((resolve) => clock.setTimer(20, () => resolve(clock.now())));
  assert.ok(firedAt - start >= 19, `fired after ${firedAt - start} ms`);
});

test('a cancelled timer never fires', async () => {
  const clock = createRealClock();
  let fired = false;
  const cancel = clock.setTimer(5, () => {
    fired = true;
  });
  cancel();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(fired, false);
});

test('the real clock refuses delays that setTimeout would silently turn into 1 ms', () => {
  const clock = createRealClock();
  for (const delay of [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
    assert.throws(() => clock.setTimer(delay, () => {}), RangeError);
  }
});

test('the real rng stays within its bound, covers it, and returns the bytes asked for', () => {
  const rng = createRealRng();
  const seen = new Set<number>();
  for (let i = 0; i < 400; i += 1) {
    const value = rng.nextInt(6);
    assert.ok(Number.isInteger(value) && value >= 0 && value < 6);
    seen.add(value);
  }
  assert.equal(seen.size, 6);
  assert.equal(rng.nextInt(1), 0);
  assert.equal(rng.bytes(32).length, 32);
  assert.equal(rng.bytes(0).length, 0);
  assert.notDeepEqual(rng.bytes(32), rng.bytes(32));
  for (const bound of [0, -3, 1.5, 2 ** 49]) assert.throws(() => rng.nextInt(bound), RangeError);
  assert.throws(() => rng.bytes(-1), RangeError);
});
