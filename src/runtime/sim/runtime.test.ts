import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimNetwork } from './network.ts';
import { createSimRng } from './rng.ts';
import { Scheduler } from './scheduler.ts';
import { SimStorage } from './storage.ts';

test('the seeded generator repeats per seed, differs across seeds, and stays in bounds', () => {
  const a = createSimRng(7);
  const b = createSimRng(7);
  const c = createSimRng(8);
  const draws = (rng: ReturnType<typeof createSimRng>) => Array.from({ length: 64 }, () => rng.nextInt(1000));
  const first = draws(a);
  assert.deepEqual(first, draws(b));
  assert.notDeepEqual(first, draws(c));
  const counts = new Array<number>(6).fill(0);
  const rng = createSimRng(1);
  for (let i = 0; i < 6000; i++) counts[rng.nextInt(6)]!++;
  for (const count of counts) assert.ok(count > 850 && count < 1150, `skewed: ${counts}`);
  assert.throws(() => rng.nextInt(0));
});

test('the scheduler runs events in time order, ties in scheduling order, and cancels', () => {
  const scheduler = new Scheduler();
  const order: string[] = [];
  scheduler.schedule(10, () => order.push('b'));
  scheduler.schedule(5, () => order.push('a'));
  scheduler.schedule(10, () => order.push('c'));
  const cancel = scheduler.schedule(7, () => order.push('cancelled'));
  cancel();
  const clock = scheduler.clockFor();
  clock.setTimer(20, () => order.push('timer'));
  clock.stopAll();
  while (scheduler.step(100)) {}
  assert.deepEqual(order, ['a', 'b', 'c']);
  assert.equal(scheduler.now(), 10);
});

test('a crash keeps synced writes and at most a prefix of unsynced ones', async () => {
  for (let seed = 0; seed < 50; seed++) {
    const storage = new SimStorage();
    storage.put('a', Uint8Array.of(1));
    await storage.sync();
    storage.put('b', Uint8Array.of(2, 2, 2, 2));
    storage.put('c', Uint8Array.of(3, 3, 3, 3));
    storage.delete('a');
    assert.equal(storage.get('a'), undefined);
    storage.crash(createSimRng(seed));
    const hasB = storage.get('b') !== undefined;
    const hasC = storage.get('c') !== undefined;
    if (hasC) assert.ok(hasB, 'c survived without b');
    if (storage.get('a') === undefined)
      assert.ok(hasC && storage.get('c')!.length === 4, 'delete survived without c');
    if (hasB && hasC) assert.deepEqual(storage.get('b'), Uint8Array.of(2, 2, 2, 2));
    assert.deepEqual(
      storage.keys(''),
      ['a', 'b', 'c'].filter((key) => storage.get(key) !== undefined),
    );
  }
});

test('links deliver after latency, drop with loss, and never cross a partition', () => {
  const scheduler = new Scheduler();
  const network = new SimNetwork(scheduler, createSimRng(3), { latencyMs: 10, jitterMs: 0, lossPerMille: 0 });
  const endpoints = [0, 1, 2].map((peer) => network.addEndpoint(peer));
  const received: string[] = [];
  endpoints.forEach((endpoint, index) => {
    endpoint.onMessage((from, message) => {
      received.push(`${from}->${index}:${message[0]}@${scheduler.now()}`);
    });
  });
  endpoints[0]!.broadcast(Uint8Array.of(1));
  network.setPartition([0, 0, 1]);
  endpoints[0]!.broadcast(Uint8Array.of(2));
  network.setPartition(undefined);
  while (scheduler.step(100)) {}
  assert.deepEqual(received, ['0->1:1@10', '0->2:1@10', '0->1:2@10']);
  // A message in flight to an endpoint that crashes is lost, as on a real connection.
  endpoints[1]!.send(2, Uint8Array.of(3));
  network.setUp(2, false);
  network.setUp(2, true);
  while (scheduler.step(1000)) {}
  network.setUp(2, true);
  network.setLink({ latencyMs: 1, jitterMs: 0, lossPerMille: 1000 });
  endpoints[0]!.broadcast(Uint8Array.of(4));
  while (scheduler.step(2000)) {}
  assert.equal(received.length, 3);
});
