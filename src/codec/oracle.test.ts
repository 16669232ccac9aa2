import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CodecError } from './errors.ts';
import { type ObservationBody, SignedObservationCodec } from './oracle.ts';

const body: ObservationBody = {
  chainId: 1,
  height: 9,
  validator: new Uint8Array(32).fill(3),
  timestampMs: 1_750_000_000_000,
  entries: [
    {
      assetId: 1,
      priceTicks: 6_412_345n,
      confidenceTicks: 12n,
      sourceCount: 4,
      sourceTimeMs: 1_750_000_000_000,
    },
    {
      assetId: 2,
      priceTicks: 380_125n,
      confidenceTicks: 0n,
      sourceCount: 1,
      sourceTimeMs: 1_749_999_999_000,
    },
  ],
};
const signature = new Uint8Array(64).fill(9);

test('a signed observation round-trips through its envelope', () => {
  const bytes = SignedObservationCodec.encode({ body, signature });
  assert.deepEqual(bytes.subarray(0, 3), Uint8Array.from([1, 0x04, 0x02]));
  assert.deepEqual(SignedObservationCodec.decode(bytes), { body, signature });
});

test('observations with duplicate or unordered assets, zero prices or no sources are refused by field', () => {
  const cases: [ObservationBody, string][] = [
    [{ ...body, entries: [body.entries[1]!, body.entries[0]!] }, 'SignedObservation.body.entries[1].assetId'],
    [{ ...body, entries: [body.entries[0]!, body.entries[0]!] }, 'SignedObservation.body.entries[1].assetId'],
    [
      { ...body, entries: [{ ...body.entries[0]!, priceTicks: 0n }] },
      'SignedObservation.body.entries[0].priceTicks',
    ],
    [
      { ...body, entries: [{ ...body.entries[0]!, priceTicks: 1n << 63n }] },
      'SignedObservation.body.entries[0].priceTicks',
    ],
    [
      { ...body, entries: [{ ...body.entries[0]!, sourceCount: 0 }] },
      'SignedObservation.body.entries[0].sourceCount',
    ],
    [{ ...body, height: 2 ** 53 }, 'SignedObservation.body.height'],
  ];
  for (const [bad, field] of cases) {
    const bytes = SignedObservationCodec.encode({ body: bad, signature });
    assert.throws(
      () => SignedObservationCodec.decode(bytes),
      (error: unknown) =>
        error instanceof CodecError && error.code === 'INVALID_VALUE' && error.field === field,
    );
  }
  const truncated = SignedObservationCodec.encode({ body, signature }).subarray(0, 40);
  assert.throws(() => SignedObservationCodec.decode(truncated), CodecError);
});
