import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressGroup } from './transport.ts';

test('strangers are counted by IPv4 address and by IPv6 /64', () => {
  assert.equal(addressGroup('203.0.113.7'), '203.0.113.7');
  assert.equal(addressGroup('2001:db8:1:2:aaaa::1'), '2001:0db8:0001:0002::/64');
  assert.equal(addressGroup('2001:DB8:1:2:ffff:ffff:ffff:ffff'), '2001:0db8:0001:0002::/64');
  assert.equal(addressGroup('2001:db8::1'), '2001:0db8:0000:0000::/64');
  assert.equal(addressGroup('::1'), '0000:0000:0000:0000::/64');
  assert.equal(addressGroup('fe80::'), 'fe80:0000:0000:0000::/64');
});
