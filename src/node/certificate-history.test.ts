import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodePriceCertificate, feedIdOf, type PriceCertificate } from '../interop/price-certificate.ts';
import { SimStorage } from '../runtime/sim/storage.ts';
import { createCertificateHistory } from './certificate-history.ts';
import type { LatestCertificate } from './price-signing.ts';

const domain = { chainId: 31337, verifyingContract: new Uint8Array(20).fill(0x22) };

/** A certificate as the history keeps it (its signature is not checked here: price-signing did). */
function entry(
  assetId: number,
  height: number,
  publishTime: number,
  price = 1000n + BigInt(height),
): LatestCertificate {
  const certificate: PriceCertificate = {
    report: { feedId: feedIdOf(`A${assetId}`), price, confidence: 5n, exponent: -2, publishTime, epoch: 1 },
    domain,
    signature: new Uint8Array(65).fill(height & 0xff),
  };
  return {
    assetId,
    symbol: `A${assetId}`,
    height,
    certificate,
    encoded: encodePriceCertificate(certificate),
  };
}

const symbolOf = (assetId: number) => `A${assetId}`;

describe('price certificate history', () => {
  test('by height: the newest certificate assembled at or below it; none before the first', () => {
    const history = createCertificateHistory(new SimStorage(), symbolOf);
    for (const height of [10, 20, 30]) history.record(entry(1, height, 1_000 + height));
    assert.equal(history.at(1, { height: 9 }), undefined);
    assert.equal(history.at(1, { height: 10 })?.height, 10);
    assert.equal(history.at(1, { height: 29 })?.height, 20);
    assert.equal(history.at(1, { height: 1_000_000 })?.height, 30);
    assert.equal(history.at(2, { height: 30 }), undefined, 'another asset has none');
  });

  test('by time: the newest whose report was published at or before it, even when times do not follow heights', () => {
    const history = createCertificateHistory(new SimStorage(), symbolOf);
    history.record(entry(1, 10, 1_000));
    history.record(entry(1, 20, 1_050));
    // A later block whose median source time is older (publishTime = min(sources, block time)).
    history.record(entry(1, 30, 1_040));
    assert.equal(history.at(1, { time: 999 }), undefined);
    assert.equal(history.at(1, { time: 1_045 })?.height, 30);
    assert.equal(history.at(1, { time: 1_049 })?.height, 30);
    assert.equal(history.at(1, { time: 1_050 })?.height, 30);
    assert.equal(history.at(1, { time: 1_039 })?.height, 10);
  });

  test('out-of-order arrivals are placed by height; a second certificate for a height is ignored', () => {
    const history = createCertificateHistory(new SimStorage(), symbolOf);
    history.record(entry(1, 30, 1_030));
    history.record(entry(1, 10, 1_010));
    history.record(entry(1, 20, 1_020, 7n));
    history.record(entry(1, 20, 1_020, 8n));
    assert.equal(history.size(1), 3);
    assert.equal(history.at(1, { height: 25 })?.certificate.report.price, 7n);
  });

  test('survives a restart from storage, keeps only the newest perAsset, and drops a torn record', () => {
    const storage = new SimStorage();
    const history = createCertificateHistory(storage, symbolOf, 3);
    for (let height = 1; height <= 5; height++) {
      history.record(entry(1, height, 100 + height));
      history.record(entry(2, height * 2, 100 + height));
    }
    assert.equal(history.size(1), 3);
    assert.equal(history.at(1, { height: 2 }), undefined, 'pruned');
    const torn = storage.keys('oracle/certificate/')[0]!;
    storage.put(torn, new Uint8Array([1, 2, 3]));
    const reopened = createCertificateHistory(storage, symbolOf, 3);
    assert.equal(reopened.size(1) + reopened.size(2), 5, 'the torn record is gone');
    assert.equal(storage.get(torn), undefined);
    const restored = reopened.at(2, { height: 9 })!;
    assert.equal(restored.height, 8);
    assert.equal(restored.symbol, 'A2');
    assert.deepEqual(restored.encoded, entry(2, 8, 104).encoded);
    assert.equal(reopened.at(1, { time: 104 })?.height, 4);
  });

  test('perAsset must be a positive integer', () => {
    assert.throws(() => createCertificateHistory(new SimStorage(), symbolOf, 0), RangeError);
  });
});
