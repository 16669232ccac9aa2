/**
 * The devnet bots' eon resolver (./eon-setup.ts `eonResolver`) takes each window's key from the
 * chain through a light client, never from one API node's word. Two API servers on 127.0.0.1
 * (ports 35010+) serve the eon chain of ../eon-chain-fixtures.ts (five validators, E = 20, V4
 * removed at 20, eons 1–3 recorded in blocks 1, 6, 30):
 *
 *   honest   serves the finalized blocks and boundary proofs: the resolver gives eon 2 for a W_1
 *            height and eon 3 for a W_2 height, the keys the chain recorded;
 *   liar     serves its own "validators" and a key they attested (`GET /v1/eon`), and the chain
 *            re-certified by those keys: the resolver gives nothing (what the resolver did before,
 *            checking the served key against the served list, took the liar's key); asked of the
 *            liar first and the honest node second, it sets the liar aside and gives the chain's.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, describe, it } from 'node:test';
import { VoteKind } from '../../codec/consensus.ts';
import { certificateFromVotes } from '../../consensus/certificate.ts';
import { createValidatorSet } from '../../consensus/validators.ts';
import { signVote } from '../../consensus/votes.ts';
import { fromHex, toHex } from '../../crypto/bytes.ts';
import { testSigner } from '../../execution/fixtures.ts';
import type { EonKeysetJson } from '../api/eon.ts';
import { eon2, eon3, eonChain, eonDkg, eonValidators } from '../eon-chain-fixtures.ts';
import { verifyEonKeysetJson } from '../eon-client.ts';
import { createLightClient, createLightClientDriver } from '../light-client.ts';
import { type BlockDetail, certificateToJson } from '../view.ts';
import { eonResolver } from './eon-setup.ts';

const PORT = 35_010;
const chain = eonChain(50, 42);
const hex = (bytes: Uint8Array) => `0x${toHex(bytes)}`;
const fakes = Array.from({ length: 4 }, (_, i) => testSigner(`eon-resolver/fake-${i}`));
const fakeEon = eonDkg(2, fakes);

const genesis = {
  chainId: chain.rules.chainId,
  validators: eonValidators.map((s) => ({ publicKey: s.publicKey })),
  dkg: { epoch: 1, epochBlocks: 20 },
  priceCertificates: { chainId: 1, verifyingContract: new Uint8Array(20) },
  eonKeygen: { eon: 1 },
};

/** The liar's eon answer: its fakes' keyset of eon 2, with the fakes as the window's validators. */
const liarEon: EonKeysetJson = {
  state: 'ready',
  source: 'dkg',
  eon: 2,
  eonPublicKey: hex(fakeEon[0]!.keyset.eonPublicKey.toBytes(true)),
  threshold: fakeEon[0]!.keyset.threshold,
  publicShares: fakeEon[0]!.keyset.publicShares.map((p) => hex(p.toBytes(true))),
  encryptedOnlySeries: [1],
  qualified: [...fakeEon[0]!.keyset.qualified],
  commitment: fakeEon[0]!.commitment.map((p) => hex(p.toBytes(true))),
  attestations: fakeEon[0]!.attestations.map(hex),
  disqualified: [],
  fromHeight: 20,
  untilHeight: 39,
  validators: fakes.map((s) => hex(s.publicKey)),
  next: null,
};

/** The chain's block `height`, certified by the fakes instead of the validators. */
function recertified(detail: BlockDetail): BlockDetail {
  const digest = fromHex(detail.hash)!;
  const votes = fakes.slice(0, 3).map((signer, signerIndex) =>
    signVote(signer, chain.rules.chainId, {
      kind: VoteKind.finalize,
      view: detail.view,
      digest,
      signerIndex,
    }),
  );
  return {
    ...detail,
    finalization: certificateToJson(certificateFromVotes(VoteKind.finalize, detail.view, digest, votes)),
  };
}

function serve(port: number, liar: boolean): Promise<Server> {
  const server = createServer((request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const url = request.url ?? '';
    const block = /^\/v1\/blocks\/(\d+)$/.exec(url);
    const boundary = /^\/v1\/validators\/boundaries\/(\d+)$/.exec(url);
    if (url === '/v1/status')
      return send(200, { chainId: chain.rules.chainId, height: chain.details.length });
    if (url === '/v1/eon') return send(200, liar ? liarEon : { ...liarEon, state: 'pending' });
    if (block !== null) {
      const detail = chain.details[Number(block[1]) - 1];
      if (detail !== undefined) return send(200, liar ? recertified(detail) : detail);
    }
    if (boundary !== null) {
      const proof = chain.proofs.proof(Number(boundary[1]));
      if (proof !== undefined) return send(200, proof);
    }
    send(404, { error: { code: 'NOT_FOUND', message: 'not here' } });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

const honest = await serve(PORT, false);
const liar = await serve(PORT + 1, true);
after(() => {
  honest.close();
  liar.close();
});
const honestUrl = `http://127.0.0.1:${PORT}`;
const liarUrl = `http://127.0.0.1:${PORT + 1}`;

describe('the bots’ eon resolver follows the chain, not a node’s word', () => {
  it('a liar’s own validators and their key are not taken', async () => {
    // The check the resolver made before: the served key against the served list.
    const fooled = verifyEonKeysetJson(liarEon, {
      chainId: chain.rules.chainId,
      validators: liarEon.validators!.map((key) => fromHex(key)!),
    });
    assert.equal(hex(fooled.eonPublicKeyBytes), liarEon.eonPublicKey, 'that check took the liar’s key');
    const resolve = eonResolver([liarUrl], genesis);
    assert.equal(
      await resolve(25),
      undefined,
      'nothing from a node whose blocks the genesis set did not sign',
    );
    assert.equal(await resolve(5), undefined);
  });

  it('from an honest node it gives each window’s recorded key; a liar asked first is set aside', async () => {
    for (const urls of [[honestUrl], [liarUrl, honestUrl]]) {
      const resolve = eonResolver(urls, genesis);
      const [w1, w2] = await Promise.all([resolve(25), resolve(45)]);
      assert.equal(w1?.eon, 2);
      assert.equal(hex(w1!.eonPublicKey), hex(eon2[0]!.keyset.eonPublicKey.toBytes(true)));
      assert.equal(w2?.eon, 3);
      assert.equal(hex(w2!.eonPublicKey), hex(eon3[0]!.keyset.eonPublicKey.toBytes(true)));
      assert.notEqual(hex(w1!.eonPublicKey), liarEon.eonPublicKey);
      assert.equal(await resolve(1), undefined, 'height 1 precedes eon 1’s record');
      assert.equal(await resolve(65), undefined, 'W_3 is recorded by no followed block');
    }
  });

  it('the light client driver gives a height’s eon after following the chain to it', async () => {
    const light = createLightClient({
      chainId: genesis.chainId,
      validators: createValidatorSet(genesis.validators.map((v) => v.publicKey)),
      epochBlocks: 20,
      keyset: { epoch: 1, groupPublicKey: new Uint8Array(33) },
      keysetDomain: { chainId: 1, verifyingContract: new Uint8Array(20) },
      eonEpochs: { genesisEon: 1 },
    });
    const driver = createLightClientDriver(light, { nodes: [{ url: liarUrl }, { url: honestUrl }] });
    const eon = await driver.eonAt(45);
    assert.equal(eon.eon, 3);
    assert.equal(eon.recordedAt, 30);
    assert.equal(light.tip.height, chain.details.length, 'it followed the chain');
    assert.ok(driver.faults().some((fault) => fault.node === liarUrl && fault.code === 'BAD_CERTIFICATE'));
    await assert.rejects(
      driver.eonAt(65),
      (error: unknown) => (error as { code?: string }).code === 'EON_NOT_RECORDED',
    );
  });
});
