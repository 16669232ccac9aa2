/**
 * A client's check of the eon keyset a node serves (`GET /v1/eon`) before it encrypts orders to
 * it. A node that lies about the eon key could read every order sent to it first; so the key is
 * taken only when it is the one n − f validators of the set the caller trusts attested (src/crypto/
 * shutter/eon-keygen.ts `verifyEonAttestations`): the served commitment and QUAL are recomputed
 * into the transcript the attestations sign, and the eon key and public shares derived from the
 * commitment, not read from the node. A genesis that lists the keyset itself needs no check (the
 * client reads it from the genesis).
 *
 * Which set: the caller's, never the served `validators` (a lying node lists its own keys and a
 * key they attested). For the genesis eon that is the genesis set; with eon epochs a later window's
 * set is known only by following the chain's validator-set changes — a light client, whose
 * `verifyEonKeyset` also checks that a finalized block recorded the keyset (src/node/light-client.ts).
 */
import { fromHex } from '../crypto/bytes.ts';
import type { EonKeyset } from '../crypto/shutter/eon-dkg.ts';
import { EonKeygenError, verifyEonAttestations } from '../crypto/shutter/eon-keygen.ts';
import { decodeG2, type G2Point } from '../crypto/shutter/ibe.ts';
import type { EonKeysetJson } from './api/eon.ts';
import { eonKeygenSessionOf } from './eon-keyset.ts';

export interface VerifiedEonKeyset {
  readonly eon: number;
  readonly eonPublicKey: G2Point;
  /** 96-byte compressed G2: what `encrypt` takes. */
  readonly eonPublicKeyBytes: Uint8Array;
  readonly publicShares: readonly G2Point[];
  readonly threshold: number;
  readonly encryptedOnlySeries: readonly number[];
}

export class EonKeysetCheckError extends Error {
  override readonly name = 'EonKeysetCheckError';
  readonly code: 'EON_NOT_READY' | 'EON_MALFORMED' | 'EON_UNATTESTED' | 'EON_MISMATCH' | 'EON_WRONG_SET';
  constructor(code: EonKeysetCheckError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

function bytesOf(text: string, field: string): Uint8Array {
  const bytes = fromHex(text);
  if (bytes === undefined) throw new EonKeysetCheckError('EON_MALFORMED', `${field} is not hex`);
  return Uint8Array.from(bytes);
}

/**
 * The served keyset, checked against the identity keys of the validator set the caller trusts for
 * its eon (`trusted.validators`, in keyper order: the genesis set for the genesis eon).
 * @throws EonKeysetCheckError EON_NOT_READY (the DKG is running), EON_MALFORMED, EON_WRONG_SET (the
 *   served `validators` are not the trusted set), EON_UNATTESTED (fewer than n − f valid
 *   attestations of this transcript by the trusted set), EON_MISMATCH (the served key or public
 *   shares are not the attested commitment's)
 * @example const eon = verifyEonKeysetJson(await client.eon(), { chainId, validators: genesisKeys });
 */
export function verifyEonKeysetJson(
  served: EonKeysetJson,
  trusted: { chainId: number; validators: readonly Uint8Array[] },
): VerifiedEonKeyset {
  if (served.state !== 'ready' || served.eon === null || served.eonPublicKey === null)
    throw new EonKeysetCheckError('EON_NOT_READY', `the eon keyset is ${served.state}`);
  if (served.source !== 'dkg')
    throw new EonKeysetCheckError('EON_UNATTESTED', 'a keyset the genesis lists is read from the genesis');
  if (served.validators !== undefined) {
    const listed = served.validators.map((text, i) => bytesOf(text, `validators[${i}]`));
    if (
      listed.length !== trusted.validators.length ||
      listed.some((key, i) => Buffer.compare(key, trusted.validators[i]!) !== 0)
    )
      throw new EonKeysetCheckError(
        'EON_WRONG_SET',
        'the served validators are not the set the caller trusts',
      );
  }
  let commitment: G2Point[];
  try {
    commitment = served.commitment.map((text, k) =>
      decodeG2(bytesOf(text, `commitment[${k}]`), `commitment[${k}]`),
    );
  } catch (cause) {
    if (cause instanceof EonKeysetCheckError) throw cause;
    throw new EonKeysetCheckError('EON_MALFORMED', 'the commitment is not points of G2', { cause });
  }
  const session = eonKeygenSessionOf(trusted.chainId, served.eon, trusted.validators);
  const attestations = served.attestations.map((text, i) => bytesOf(text, `attestations[${i}]`));
  let keyset: EonKeyset;
  try {
    keyset = verifyEonAttestations(session, served.qualified, commitment, attestations);
  } catch (cause) {
    if (!(cause instanceof EonKeygenError)) throw cause;
    throw new EonKeysetCheckError('EON_UNATTESTED', cause.message, { cause });
  }
  const servedKey = bytesOf(served.eonPublicKey, 'eonPublicKey');
  const derivedKey = keyset.eonPublicKey.toBytes(true);
  const sharesMatch =
    served.publicShares.length === keyset.publicShares.length &&
    served.publicShares.every(
      (text, i) =>
        Buffer.compare(bytesOf(text, `publicShares[${i}]`), keyset.publicShares[i]!.toBytes(true)) === 0,
    );
  if (Buffer.compare(servedKey, derivedKey) !== 0 || !sharesMatch)
    throw new EonKeysetCheckError('EON_MISMATCH', 'the served eon key is not the attested commitment’s');
  return Object.freeze({
    eon: served.eon,
    eonPublicKey: keyset.eonPublicKey,
    eonPublicKeyBytes: derivedKey,
    publicShares: keyset.publicShares,
    threshold: keyset.threshold,
    encryptedOnlySeries: Object.freeze([...served.encryptedOnlySeries]),
  });
}
