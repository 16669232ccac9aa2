import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONFIG_FORMAT, ConfigError, nodeConfigToJson, parseNodeConfig } from './config.ts';

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

test('the oracle drill: stuck sources are carried to the node, and round-trip; bad ones are refused', () => {
  assert.equal(parseNodeConfig(base, '/srv').oracleStuckSources, undefined);
  const config = parseNodeConfig({ ...base, oracle: { stuckSources: ['venue-c'] } }, '/srv');
  assert.equal(config.oracleEnabled, true);
  assert.deepEqual(config.oracleStuckSources, ['venue-c']);
  assert.deepEqual(nodeConfigToJson(config, '/srv').oracle, { enabled: true, stuckSources: ['venue-c'] });
  assert.equal(nodeConfigToJson(parseNodeConfig(base, '/srv'), '/srv').oracle, undefined);
  for (const stuckSources of ['venue-c', [7], ['bad id with spaces'], Array(65).fill('v')]) {
    assert.throws(
      () => parseNodeConfig({ ...base, oracle: { stuckSources } }, '/srv'),
      (error: unknown) => error instanceof ConfigError && error.field === 'oracle.stuckSources',
    );
  }
  assert.throws(
    () => parseNodeConfig({ ...base, oracle: { enabled: true, frozen: [] } }, '/srv'),
    (error: unknown) => error instanceof ConfigError && error.field === 'oracle',
  );
});
