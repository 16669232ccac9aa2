/**
 * A checkpoint certified by the keyset through src/crypto/frost.ts, carried in its wire format,
 * verifies in PalisadeVerifier (the committed build in the @ethereumjs/vm harness) and in
 * TypeScript alike; the forgeries each refuses: another keyset, another chain or contract, a field
 * changed after signing, an old epoch, a zero root.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CodecError } from '../../src/codec/errors.ts';
import { type Checkpoint, checkpointDigest } from '../../src/interop/evm/certificates.ts';
import {
  CheckpointCertificateCodec,
  decodeCheckpointCertificate,
  encodeCheckpointCertificate,
  evmCheckpointArguments,
  verifyCheckpointCertificate,
} from '../../src/interop/evm/checkpoint.ts';
import { createEvmHarness } from '../../src/interop/evm/harness.ts';
import { domainOf, frostSign, keysetOne, keysetTwo } from './fixtures.ts';

const checkpoint: Checkpoint = {
  height: 1_024n,
  blockHash: new Uint8Array(32).fill(0xa1),
  stateRoot: new Uint8Array(32).fill(0xa2),
  withdrawalsRoot: new Uint8Array(32).fill(0xa3),
  epoch: 1n,
};
const keyset = { epoch: 1, groupPublicKey: keysetOne[0]!.groupPublicKey };

test('a FROST-certified checkpoint verifies in PalisadeVerifier and in TypeScript; forgeries do not', async () => {
  const evm = await createEvmHarness({ chainId: 31337n });
  const deployer = await evm.account('deployer');
  const verifier = await evm.deploy(deployer, 'PalisadeVerifier', [1n, keysetOne[0]!.groupPublicKey]);
  const domain = domainOf(evm, verifier);
  const certify = (value: Checkpoint, keys = keysetOne, on = domain) =>
    encodeCheckpointCertificate({
      domain: on,
      checkpoint: value,
      signature: frostSign(keys, checkpointDigest(value, on)),
    });
  const onChain = async (bytes: Uint8Array, override?: Partial<Checkpoint>) => {
    const certificate = decodeCheckpointCertificate(bytes);
    const [evmKeyset, value, signature] = evmCheckpointArguments(certificate, keysetOne[0]!.groupPublicKey);
    const result = await verifier.call('verifyCheckpoint', [evmKeyset, { ...value, ...override }, signature]);
    assert.equal(result.ok, true, result.revert?.name);
    return result.value![0] as boolean;
  };

  const honest = certify(checkpoint);
  assert.deepEqual(decodeCheckpointCertificate(honest).checkpoint, checkpoint, 'the codec round-trips');
  assert.equal(verifyCheckpointCertificate(honest, keyset, domain).ok, true);
  assert.equal(await onChain(honest), true);

  // Signed by another keyset (f + 1 honest holders never signed it).
  const byOther = certify(checkpoint, keysetTwo);
  assert.equal(verifyCheckpointCertificate(byOther, keyset, domain).ok, false);
  assert.equal(await onChain(byOther), false);
  // Signed for another chain id: the wire form names it and TypeScript refuses; the contract,
  // which takes its own domain, refuses the signature.
  const otherChain = certify(checkpoint, keysetOne, { ...domain, chainId: 1 });
  assert.deepEqual(verifyCheckpointCertificate(otherChain, keyset, domain), {
    ok: false,
    reason: 'WRONG_DOMAIN',
    detail: 'checkpoint for another chain or contract',
  });
  assert.equal(await onChain(otherChain), false);
  // A withdrawals root swapped after signing (a relayer's forgery).
  const swapped = decodeCheckpointCertificate(honest);
  const tampered = encodeCheckpointCertificate({
    ...swapped,
    checkpoint: { ...swapped.checkpoint, withdrawalsRoot: new Uint8Array(32).fill(0xee) },
  });
  assert.equal(verifyCheckpointCertificate(tampered, keyset, domain).ok, false);
  assert.equal(await onChain(tampered), false);
  assert.equal(await onChain(honest, { stateRoot: new Uint8Array(32).fill(0xef) }), false);
  // The epoch-2 keyset's checkpoint against the epoch-1 keyset.
  const later = certify({ ...checkpoint, epoch: 2n }, keysetTwo);
  assert.equal(
    (verifyCheckpointCertificate(later, keyset, domain) as { reason: string }).reason,
    'WRONG_EPOCH',
  );
  // The zero root (Nomad) is refused before any signature is looked at.
  assert.throws(() => certify({ ...checkpoint, withdrawalsRoot: new Uint8Array(32) }), /zero root/);
  // And a certificate carrying one, from anyone, does not decode.
  const zeroRoot = CheckpointCertificateCodec.encode({
    ...CheckpointCertificateCodec.decode(honest),
    stateRoot: new Uint8Array(32),
  });
  assert.equal(
    (verifyCheckpointCertificate(zeroRoot, keyset, domain) as { reason: string }).reason,
    'MALFORMED',
  );
  assert.throws(() => decodeCheckpointCertificate(zeroRoot), CodecError);
});
