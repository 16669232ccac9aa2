/**
 * A validator's eon secret share at rest (fair ordering, issue 14): `eon-share-<eon>.key` in its
 * data directory, sealed like the price keyset's files (src/crypto/keystore.ts's version-2
 * threshold key file, AES-256-GCM, header authenticated) under a key derived from the validator's
 * identity seed by HKDF-SHA-256 with its own label, so a price key file renamed into its place, or
 * another validator's or eon's file, fails authentication.
 *
 * Two kinds of contents, in the same sealed file:
 *   - a share of a keyset the genesis lists (`fairOrdering` with the eon key and public shares,
 *     made outside the chain): `{ secretShare }`, checked against the genesis' P_i;
 *   - a share of the keyset the validators made among themselves at first start (genesis
 *     `eonKeygen`, src/node/eon-keyset.ts): `{ secretShare, keyset: { qualified, commitment,
 *     attestations }, sent }` — the qualified dealers, the combined G2 commitment, n − f
 *     validators' signed attestations of that transcript (src/crypto/shutter/eon-keygen.ts), and the
 *     sealed DKG messages this validator sent, to answer a peer still in the DKG. On opening, the
 *     attestations are checked against the genesis validators' keys (`verifyEonAttestations`),
 *     so the file cannot name a keyset the validators did not agree on, and the share against the
 *     keyset's P_i.
 *
 * A validator with a wrong share would sign key shares that every peer names as lies; one without
 * its file would run the block rule without the fair-ordering rules and fork, so `loadEonShare` and
 * `openEonKeyset` refuse both instead of starting.
 */
import { hkdfSync } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { FairOrderingRules } from '../chain/fair-batches.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { openThresholdKeyFile, sealThresholdKeyFile } from '../crypto/keystore.ts';
import type { EonKeyset } from '../crypto/shutter/eon-dkg.ts';
import {
  EonKeygenError,
  type EonKeygenOutput,
  type EonKeygenSession,
  verifyEonAttestations,
} from '../crypto/shutter/eon-keygen.ts';
import { decodeG2, Fr, G2, type G2Point } from '../crypto/shutter/ibe.ts';

export class EonShareError extends Error {
  override readonly name = 'EonShareError';
  readonly code: 'EON_SHARE_MISSING' | 'EON_SHARE_MISMATCH' | 'EON_SHARE_MALFORMED' | 'EON_KEYSET_UNATTESTED';
  readonly field = 'eonShare';
  constructor(code: EonShareError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export interface EonShareHeader {
  readonly chainId: number;
  readonly eon: number;
  readonly index: number;
}

/** The share file's name in a validator's data directory. */
export function eonShareFileOf(dataDirectory: string, eon: number): string {
  return join(dataDirectory, `eon-share-${eon}.key`);
}

function fileKey(identitySeed: Uint8Array, header: EonShareHeader): Buffer {
  return Buffer.from(
    hkdfSync(
      'sha256',
      identitySeed,
      Buffer.from(`chain ${header.chainId}`),
      `palisade/eon-share/v1/eon ${header.eon}`,
      32,
    ),
  );
}

/** The sealed text of validator `header.index`'s eon secret share. */
export function sealEonShare(secretShare: bigint, identitySeed: Uint8Array, header: EonShareHeader): string {
  if (secretShare <= 0n || secretShare >= Fr.ORDER) throw new RangeError('an eon share is a non-zero scalar');
  return sealThresholdKeyFile(
    JSON.stringify({ secretShare: secretShare.toString(16) }),
    fileKey(identitySeed, header),
    { chainId: header.chainId, epoch: header.eon, index: header.index },
  );
}

/**
 * Opens a sealed share and checks it against the genesis' public share of this validator.
 * @throws KeystoreError when the file was altered or is not this validator's for this eon;
 *   EonShareError EON_SHARE_MALFORMED, EON_SHARE_MISMATCH
 */
export function openEonShare(
  text: string,
  identitySeed: Uint8Array,
  header: EonShareHeader,
  rules: Pick<FairOrderingRules, 'publicShares'>,
): bigint {
  const { plaintext } = openThresholdKeyFile(text, fileKey(identitySeed, header), {
    chainId: header.chainId,
    epoch: header.eon,
    index: header.index,
  });
  let share: bigint;
  try {
    const parsed = JSON.parse(plaintext) as { secretShare?: unknown };
    if (typeof parsed.secretShare !== 'string' || !/^[0-9a-f]{1,64}$/.test(parsed.secretShare))
      throw new Error('no secretShare');
    share = BigInt(`0x${parsed.secretShare}`);
  } catch {
    throw new EonShareError('EON_SHARE_MALFORMED', 'the eon share file holds no share');
  }
  const expected = rules.publicShares[header.index];
  if (share <= 0n || share >= Fr.ORDER || expected === undefined || !G2.BASE.multiply(share).equals(expected))
    throw new EonShareError(
      'EON_SHARE_MISMATCH',
      `the eon share is not validator ${header.index}'s share of the genesis eon key`,
    );
  return share;
}

/** Writes the sealed share (mode 0600), making the data directory (0700) when it is missing. */
export function writeEonShare(dataDirectory: string, text: string, eon: number): void {
  mkdirSync(dataDirectory, { recursive: true, mode: 0o700 });
  writeFileSync(eonShareFileOf(dataDirectory, eon), text, { mode: 0o600 });
}

/**
 * Validator `index`'s eon share for a genesis with `fairOrdering`.
 * @throws EonShareError EON_SHARE_MISSING when the file is absent, and what `openEonShare` throws
 */
export function loadEonShare(
  dataDirectory: string,
  identitySeed: Uint8Array,
  chainId: number,
  index: number,
  rules: FairOrderingRules,
): bigint {
  const file = eonShareFileOf(dataDirectory, rules.eon);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new EonShareError(
      'EON_SHARE_MISSING',
      `the genesis requires fair ordering and ${file} (this validator's eon share) is missing`,
    );
  }
  return openEonShare(text, identitySeed, { chainId, eon: rules.eon, index }, rules);
}

/** A share of the validators' own eon keyset, with what proves the keyset (see the header). */
export interface EonKeysetFile {
  readonly secretShare: bigint;
  readonly qualified: readonly number[];
  /** Σ_{j∈QUAL} Γ_j: t points of G2. */
  readonly commitment: readonly G2Point[];
  /** n − f sealed attestations of the transcript. */
  readonly attestations: readonly Uint8Array[];
  /** The sealed DKG messages this validator sent. */
  readonly sent: readonly EonKeygenOutput[];
}

interface EonKeysetContents {
  secretShare: string;
  keyset: { qualified: number[]; commitment: string[]; attestations: string[] };
  sent: { to: number | 'all'; bytes: string }[];
}

/** The sealed text of validator `header.index`'s share of a keyset the validators agreed on. */
export function sealEonKeyset(file: EonKeysetFile, identitySeed: Uint8Array, header: EonShareHeader): string {
  if (file.secretShare <= 0n || file.secretShare >= Fr.ORDER)
    throw new RangeError('an eon share is a non-zero scalar');
  const contents: EonKeysetContents = {
    secretShare: file.secretShare.toString(16),
    keyset: {
      qualified: [...file.qualified],
      commitment: file.commitment.map((point) => toHex(point.toBytes(true))),
      attestations: file.attestations.map((bytes) => toHex(bytes)),
    },
    sent: file.sent.map((output) => ({
      to: output.to === 'all' ? 'all' : output.recipient,
      bytes: toHex(output.bytes),
    })),
  };
  return sealThresholdKeyFile(JSON.stringify(contents), fileKey(identitySeed, header), {
    chainId: header.chainId,
    epoch: header.eon,
    index: header.index,
  });
}

function bytesOf(text: unknown): Uint8Array {
  const bytes = typeof text === 'string' ? fromHex(text) : undefined;
  if (bytes === undefined) throw new Error('not hex');
  return Uint8Array.from(bytes);
}

/**
 * Opens a sealed share of the validators' eon keyset, checks the keyset's attestations against
 * the session's validator keys and the share against the keyset.
 * @throws KeystoreError when the file was altered or is not this validator's for this eon;
 *   EonShareError EON_SHARE_MALFORMED, EON_KEYSET_UNATTESTED, EON_SHARE_MISMATCH
 */
export function openEonKeyset(
  text: string,
  identitySeed: Uint8Array,
  header: EonShareHeader,
  session: EonKeygenSession,
): { file: EonKeysetFile; keyset: EonKeyset } {
  const { plaintext } = openThresholdKeyFile(text, fileKey(identitySeed, header), {
    chainId: header.chainId,
    epoch: header.eon,
    index: header.index,
  });
  let file: EonKeysetFile;
  try {
    const parsed = JSON.parse(plaintext) as EonKeysetContents;
    if (!/^[0-9a-f]{1,64}$/.test(parsed.secretShare)) throw new Error('no secretShare');
    const qualified = parsed.keyset.qualified;
    if (!Array.isArray(qualified) || !qualified.every((d) => Number.isInteger(d) && d >= 0))
      throw new Error('QUAL');
    file = {
      secretShare: BigInt(`0x${parsed.secretShare}`),
      qualified,
      commitment: parsed.keyset.commitment.map((hex, k) => decodeG2(bytesOf(hex), `commitment[${k}]`)),
      attestations: parsed.keyset.attestations.map(bytesOf),
      sent: parsed.sent.map((entry) =>
        entry.to === 'all'
          ? { to: 'all' as const, bytes: bytesOf(entry.bytes) }
          : { to: 'recipient' as const, recipient: entry.to, bytes: bytesOf(entry.bytes) },
      ),
    };
  } catch {
    throw new EonShareError('EON_SHARE_MALFORMED', 'the eon share file holds no keyset share');
  }
  let keyset: EonKeyset;
  try {
    keyset = verifyEonAttestations(session, file.qualified, file.commitment, file.attestations);
  } catch (error) {
    if (!(error instanceof EonKeygenError)) throw error;
    throw new EonShareError(
      'EON_KEYSET_UNATTESTED',
      `the eon keyset in the file is not the validators': ${error.message}`,
    );
  }
  const expected = keyset.publicShares[header.index];
  if (
    file.secretShare <= 0n ||
    file.secretShare >= Fr.ORDER ||
    expected === undefined ||
    !G2.BASE.multiply(file.secretShare).equals(expected)
  )
    throw new EonShareError(
      'EON_SHARE_MISMATCH',
      `the eon share is not validator ${header.index}'s share of the agreed eon key`,
    );
  return { file, keyset };
}

/** The sealed keyset file of `eon`, or undefined when there is none. */
export function readEonShareText(dataDirectory: string, eon: number): string | undefined {
  try {
    return readFileSync(eonShareFileOf(dataDirectory, eon), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes the sealed text durably: a temporary file fsynced, then renamed over the old one. */
export function writeEonShareDurably(dataDirectory: string, text: string, eon: number): void {
  mkdirSync(dataDirectory, { recursive: true, mode: 0o700 });
  const path = eonShareFileOf(dataDirectory, eon);
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** Deletes eon `eon`'s key file (a past window's: no block of it can still need opening). */
export function removeEonShare(dataDirectory: string, eon: number): void {
  rmSync(eonShareFileOf(dataDirectory, eon), { force: true });
}
