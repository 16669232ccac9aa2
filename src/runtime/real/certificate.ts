/**
 * The X.509 certificate a validator presents in the TLS 1.3 handshake: self-signed, carrying the
 * validator's own Ed25519 identity key (RFC 8410), so the key that proves possession in the TLS
 * CertificateVerify message *is* the key listed in genesis. Nothing else in the certificate
 * matters to a peer: names and dates are fixed, the serial is derived from the key, and since
 * Ed25519 signatures are deterministic (RFC 8032) one key always yields the same certificate.
 *
 * Why not `@peculiar/x509`: it needs a global `Reflect.getMetadata` polyfill (a new dependency that
 * patches a global) for what is a fixed structure. The structure below is RFC 5280 §4.1 with no
 * extensions; OpenSSL parses it (the tests load it with `X509Certificate` and check its signature).
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, type X509Certificate } from 'node:crypto';
import { sha256 } from '../../crypto/hash.ts';

// DER prefixes that wrap a raw Ed25519 key as PKCS#8 / SPKI (RFC 8410 §7 and §4).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const ED25519_PUBLIC_KEY_BYTES = 32;

/** DER tag-length-value with definite-length encoding (X.690 §8.1.3). */
function der(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  let length: Buffer;
  if (body.length < 0x80) length = Buffer.from([body.length]);
  else if (body.length < 0x100) length = Buffer.from([0x81, body.length]);
  else length = Buffer.from([0x82, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

const SEQUENCE = 0x30;
const SET = 0x31;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OBJECT_IDENTIFIER = 0x06;
const UTF8_STRING = 0x0c;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const CONTEXT_0 = 0xa0;

/** id-Ed25519, 1.3.101.112 (RFC 8410 §3), with absent parameters. */
const ED25519_ALGORITHM = der(SEQUENCE, der(OBJECT_IDENTIFIER, Buffer.from([0x2b, 0x65, 0x70])));
/** CN=palisade-validator; the name is informative only, peers identify each other by key. */
const NAME = der(
  SEQUENCE,
  der(
    SET,
    der(
      SEQUENCE,
      der(OBJECT_IDENTIFIER, Buffer.from([0x55, 0x04, 0x03])),
      der(UTF8_STRING, Buffer.from('palisade-validator')),
    ),
  ),
);
/** From 2020 to 99991231235959Z, RFC 5280 §4.1.2.5's "no well-defined expiration date". */
const VALIDITY = der(
  SEQUENCE,
  der(UTC_TIME, Buffer.from('200101000000Z')),
  der(GENERALIZED_TIME, Buffer.from('99991231235959Z')),
);

export interface ValidatorTlsIdentity {
  /** PEM certificate for `tls` options. */
  readonly certificatePem: string;
  /** PEM PKCS#8 private key for `tls` options. */
  readonly privateKeyPem: string;
  readonly publicKey: Uint8Array;
}

/**
 * Builds the self-signed certificate of the validator whose Ed25519 seed is `secretKey`.
 * @example const identity = createValidatorTlsIdentity(seed); tls.createServer({ cert: identity.certificatePem, key: identity.privateKeyPem });
 * @throws TypeError when the seed is not 32 bytes
 */
export function createValidatorTlsIdentity(secretKey: Uint8Array): ValidatorTlsIdentity {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) {
    throw new TypeError('Ed25519 secret key must be a 32-byte seed');
  }
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, secretKey]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length));
  // A 16-byte serial derived from the key. DER INTEGERs are signed and minimal (X.690 §8.3.2), so
  // the first byte must have its top bit clear (positive) and not be zero (no padding): 01xxxxxx.
  const serial = Buffer.from(sha256(publicKey).subarray(0, 16));
  serial[0] = ((serial[0] ?? 0) & 0x3f) | 0x40;
  const tbsCertificate = der(
    SEQUENCE,
    der(CONTEXT_0, der(INTEGER, Buffer.from([2]))), // v3
    der(INTEGER, serial),
    ED25519_ALGORITHM,
    NAME,
    VALIDITY,
    NAME,
    spki,
  );
  const signature = sign(null, tbsCertificate, privateKey);
  const certificate = der(
    SEQUENCE,
    tbsCertificate,
    ED25519_ALGORITHM,
    der(BIT_STRING, Buffer.from([0]), signature),
  );
  return Object.freeze({
    certificatePem: toPem('CERTIFICATE', certificate),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKey,
  });
}

/** The raw Ed25519 public key a certificate carries, or `undefined` if it carries anything else. */
export function ed25519KeyOfCertificate(certificate: X509Certificate | undefined): Uint8Array | undefined {
  if (certificate === undefined) return undefined;
  let key: KeyObject;
  try {
    key = certificate.publicKey;
  } catch {
    return undefined;
  }
  if (key.asymmetricKeyType !== 'ed25519') return undefined;
  const spki = key.export({ format: 'der', type: 'spki' });
  if (spki.length !== SPKI_PREFIX.length + ED25519_PUBLIC_KEY_BYTES) return undefined;
  if (!spki.subarray(0, SPKI_PREFIX.length).equals(SPKI_PREFIX)) return undefined;
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

function toPem(label: string, bytes: Buffer): string {
  const lines = bytes.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
