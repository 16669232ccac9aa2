import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONFIG_FORMAT, ConfigError, parseNodeConfig } from './config.ts';

const base = {
  format: CONFIG_FORMAT,
  genesis: 'genesis.json',
  index: 0,
  keystore: 'key.json',
  dataDirectory: 'data',
  p2pListen: '127.0.0.1:26600',
  apiListen: '127.0.0.1:26700',
};

test('the config file carries the monitor section to the node', () => {
  assert.equal(parseNodeConfig(base, '/srv').monitor, undefined);
  const config = parseNodeConfig(
    { ...base, monitor: { capacity: 100, webhook: { url: 'https://hooks.example/x' } } },
    '/srv',
  );
  assert.deepEqual(config.monitor, { capacity: 100, webhook: { url: 'https://hooks.example/x' } });
});

test('a wrong monitor section is a ConfigError naming the field', () => {
  assert.throws(
    () =>
      parseNodeConfig(
        { ...base, monitor: { thresholds: { consensus: { nullificationRunViews: 0 } } } },
        '/srv',
      ),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.field === 'monitor.thresholds.consensus.nullificationRunViews' &&
      /must be a positive integer/.test(error.message),
  );
});
