/**
 * `POST /v1/envelopes` (issue 14): an encrypted order made by the client's `encrypt`, sent with
 * `submitEnvelope`, is admitted into the envelope pool; everything the pool refuses comes back as
 * a typed `ENVELOPE_*` error and leaves the slot free; a node without an eon key answers
 * `FAIR_ORDERING_DISABLED`. Served on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignedOrderEnvelopeCodec } from '../../codec/envelope.ts';
import { combineEonKeyset, dealEon } from '../../crypto/shutter/eon-dkg.ts';
import { limitOrder } from '../../execution/fixtures.ts';
import { ClientError, createClient, encrypt, type PalisadeClient } from '../client.ts';
import { hex } from '../view.ts';
import { createFixtureNode, type FixtureNode } from './fixture-node.ts';
import { type RunningApiServer, startApiServer } from './server.ts';

const EON = 1;
const dealings = Array.from({ length: 4 }, (_, j) => dealEon(j, 3, 4));
const eonPublicKey = combineEonKeyset(dealings, 3, 4).eonPublicKey.toBytes(true);

async function refusal(promise: Promise<unknown>): Promise<{ code: string; status: number }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ClientError, String(error));
    return { code: error.code, status: error.status };
  }
  assert.fail('expected a refusal');
}

describe('POST /v1/envelopes', () => {
  let node: FixtureNode;
  let api: RunningApiServer;
  let client: PalisadeClient;
  let plainApi: RunningApiServer;

  before(async () => {
    node = createFixtureNode({ traders: 2, fairOrderingEon: EON });
    api = await startApiServer({ view: node.view });
    client = createClient({ url: api.url });
    plainApi = await startApiServer({ view: createFixtureNode({ traders: 1 }).view });
  });
  after(async () => {
    await api.close();
    await plainApi.close();
  });

  const seal = (overrides: { expiryHeight?: number; nonce?: number; eon?: number; chainId?: number } = {}) =>
    encrypt(node.traders[0]!, {
      chainId: overrides.chainId ?? node.chainId,
      eon: overrides.eon ?? EON,
      eonPublicKey,
      expiryHeight: overrides.expiryHeight ?? node.engine.height + 2,
      nonce: overrides.nonce ?? 0,
      fee: 10,
      action: limitOrder(1, 'buy', 2000, 1),
    });

  test('refusals are typed and take no slot; then the client-encrypted envelope is admitted, once', async () => {
    const target = node.engine.height + 2;
    const cases: [string, Uint8Array, string, number][] = [
      ['not an envelope', Uint8Array.of(1, 2, 3), 'ENVELOPE_MALFORMED', 400],
      ['another chain', seal({ chainId: node.chainId + 1 }), 'ENVELOPE_WRONG_CHAIN', 400],
      ['another eon', seal({ eon: EON + 1 }), 'ENVELOPE_WRONG_EON', 400],
      ['an expiry below the next block', seal({ expiryHeight: node.engine.height }), 'ENVELOPE_EXPIRED', 400],
      ['an expiry far ahead', seal({ expiryHeight: target + 100 }), 'ENVELOPE_TOO_FAR_AHEAD', 422],
    ];
    // The ciphertext swapped for another one of the same size: the signed hash no longer matches.
    const swapped = SignedOrderEnvelopeCodec.decode(seal());
    const other = SignedOrderEnvelopeCodec.decode(seal());
    cases.push([
      'a swapped ciphertext',
      SignedOrderEnvelopeCodec.encode({ ...swapped, ciphertext: other.ciphertext }),
      'ENVELOPE_CIPHERTEXT_MISMATCH',
      400,
    ]);
    const forged = SignedOrderEnvelopeCodec.decode(seal());
    forged.signature = forged.signature.slice();
    forged.signature[0]! ^= 1;
    cases.push([
      'a forged signature',
      SignedOrderEnvelopeCodec.encode(forged),
      'ENVELOPE_BAD_SIGNATURE',
      400,
    ]);
    for (const [name, bytes, code, status] of cases)
      assert.deepEqual(await refusal(client.submitEnvelope(bytes)), { code, status }, name);

    const envelope = seal({ expiryHeight: target });
    assert.deepEqual(await client.submitEnvelope(envelope), {
      sender: hex(node.traders[0]!.publicKey),
      nonce: 0,
      expiryHeight: target,
    });
    // The slot (sender, nonce) is taken now: a second envelope for it is refused, whatever its expiry.
    assert.deepEqual(await refusal(client.submitEnvelope(seal({ expiryHeight: target + 1 }))), {
      code: 'ENVELOPE_SLOT_TAKEN',
      status: 409,
    });
  });

  test('JSON bodies: hex envelope accepted, non-hex refused by the schema', async () => {
    const body = JSON.stringify({ envelope: hex(seal({ nonce: 1, expiryHeight: node.engine.height + 3 })) });
    const accepted = await fetch(`${api.url}/v1/envelopes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(accepted.status, 202);
    const bad = await fetch(`${api.url}/v1/envelopes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ envelope: 'zz' }),
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'INVALID_REQUEST');
  });

  test('a node without an eon key answers FAIR_ORDERING_DISABLED', async () => {
    const plain = createClient({ url: plainApi.url });
    assert.deepEqual(await refusal(plain.submitEnvelope(seal())), {
      code: 'FAIR_ORDERING_DISABLED',
      status: 404,
    });
  });
});
