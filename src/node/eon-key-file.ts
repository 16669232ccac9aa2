/**
 * A validator's eon secret share at rest (fair ordering, issue 14): `eon-share-<eon>.key` in its
 * data directory, sealed like the price keyset's files (src/crypto/keystore.ts's version-2
 * threshold key file, AES-256-GCM, header authenticated) under a key derived from the validator's
 * identity seed by HKDF-SHA-256 with its own label, so a price key file renamed into its place, or
 * another validator's or eon's file, fails authentication.
 *
 * On opening, the share is checked against the genesis: s_i·g2 must be the eon public share P_i
 * the genesis lists for this validator. A validator with a wrong share would sign key shares that
 * every peer names as lies; one without its file would run the block rule without the genesis'
 * fair-ordering rules and fork, so `loadEonShare` refuses both instead of starting.
 */
import { hkdfSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FairOrderingRules } from '../chain/fair-batches.ts';
import { openThresholdKeyFile, sealThresholdKeyFile } from '../crypto/keystore.ts';
import { Fr, G2 } from '../crypto/shutter/ibe.ts';

export class EonShareError extends Error {
  override readonly name = 'EonShareError';
  readonly code: 'EON_SHARE_MISSING' | 'EON_SHARE_MISMATCH' | 'EON_SHARE_MALFORMED';
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
