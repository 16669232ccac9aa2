/**
 * The circuits' build artifacts (committed under circuits/keys; `npm run build:circuits` remakes them
 * in circuits/build and copies them there) and the hashes committed beside them
 * (circuits/keys.sha256.json). A key, circuit or verification key whose
 * SHA-256 differs from the committed one is refused: a swapped verification key would accept
 * proofs of anything.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CircuitSize, MarginProofError, sha256Hex } from './margin-proof.ts';

export const CIRCUITS_DIR = resolve(import.meta.dirname, '..', '..', 'circuits');

export interface ArtifactHashes {
  wasm: string;
  zkey: string;
  vkey: string;
}

export interface ProverArtifacts {
  size: CircuitSize;
  wasm: Uint8Array;
  zkey: Uint8Array;
}

export function committedHashes(size: CircuitSize, dir = CIRCUITS_DIR): ArtifactHashes {
  const path = join(dir, 'keys.sha256.json');
  const all = JSON.parse(readFileSync(path, 'utf8')) as Record<string, ArtifactHashes | undefined>;
  const hashes = all[String(size)];
  if (hashes === undefined) {
    throw new MarginProofError('KEY_HASH_MISMATCH', `circuit ${size}`, 'no committed hash for this circuit');
  }
  return hashes;
}

/**
 * Where a circuit's artifacts are: circuits/keys (committed, so CI and a fresh clone never rebuild
 * them) when it holds this circuit, else circuits/build (a local `npm run build:circuits`). Either
 * way the loader checks every file against circuits/keys.sha256.json.
 */
export function artifactFiles(
  size: CircuitSize,
  dir = CIRCUITS_DIR,
): { wasm: string; zkey: string; vkey: string } {
  const committed = committedArtifactFiles(size, dir);
  if (artifactExists(committed.zkey)) return committed;
  const build = join(dir, 'build');
  return {
    wasm: join(build, `margin_${size}_js`, `margin_${size}.wasm`),
    zkey: join(build, `margin_${size}.zkey`),
    vkey: join(build, `margin_${size}.vkey.json`),
  };
}

/**
 * The committed copies of a circuit's artifacts (circuits/keys/margin_N.{wasm,zkey,vkey.json}). A
 * proving key is committed in parts of at most {@link KEY_PART_BYTES} (margin_N.zkey.0, .1, …) so
 * that no tracked file exceeds the repository's 5 MB limit; {@link readArtifact} joins them.
 */
export function committedArtifactFiles(
  size: CircuitSize,
  dir = CIRCUITS_DIR,
): { wasm: string; zkey: string; vkey: string } {
  const keys = join(dir, 'keys');
  return {
    wasm: join(keys, `margin_${size}.wasm`),
    zkey: join(keys, `margin_${size}.zkey`),
    vkey: join(keys, `margin_${size}.vkey.json`),
  };
}

export function artifactsBuilt(size: CircuitSize, dir = CIRCUITS_DIR): boolean {
  const files = artifactFiles(size, dir);
  return artifactExists(files.wasm) && artifactExists(files.zkey) && artifactExists(files.vkey);
}

/** The largest part a committed artifact is split into (4 MiB). */
export const KEY_PART_BYTES = 4 * 1024 * 1024;

/** The parts of a split artifact, in order: `path`.0, `path`.1, … while they exist. */
function artifactParts(path: string): string[] {
  const parts: string[] = [];
  while (existsSync(`${path}.${parts.length}`)) parts.push(`${path}.${parts.length}`);
  return parts;
}

function artifactExists(path: string): boolean {
  return existsSync(path) || existsSync(`${path}.0`);
}

/** An artifact's bytes: the whole file, or its committed parts joined; undefined when neither exists. */
export function readArtifact(path: string): Uint8Array | undefined {
  if (existsSync(path)) return readFileSync(path);
  const parts = artifactParts(path);
  return parts.length === 0 ? undefined : Buffer.concat(parts.map((part) => readFileSync(part)));
}

function readChecked(path: string, expected: string, what: string): Uint8Array {
  const bytes = readArtifact(path);
  if (bytes === undefined) {
    throw new MarginProofError('KEY_HASH_MISMATCH', what, `${path} is missing: run npm run build:circuits`);
  }
  const actual = sha256Hex(bytes);
  if (actual !== expected) {
    throw new MarginProofError(
      'KEY_HASH_MISMATCH',
      what,
      `SHA-256 ${actual} is not the committed ${expected}`,
    );
  }
  return bytes;
}

export function loadProverArtifacts(size: CircuitSize, dir = CIRCUITS_DIR): ProverArtifacts {
  const hashes = committedHashes(size, dir);
  const files = artifactFiles(size, dir);
  return {
    size,
    wasm: readChecked(files.wasm, hashes.wasm, 'wasm'),
    zkey: readChecked(files.zkey, hashes.zkey, 'zkey'),
  };
}

/** Checks bytes of a verification key (from a file or a peer) against the committed hash. */
export function parseVerificationKey(size: CircuitSize, bytes: Uint8Array, dir = CIRCUITS_DIR): unknown {
  const expected = committedHashes(size, dir).vkey;
  const actual = sha256Hex(bytes);
  if (actual !== expected) {
    throw new MarginProofError(
      'KEY_HASH_MISMATCH',
      'vkey',
      `SHA-256 ${actual} is not the committed ${expected}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(bytes));
}

export function loadVerificationKey(size: CircuitSize, dir = CIRCUITS_DIR): unknown {
  const files = artifactFiles(size, dir);
  if (!existsSync(files.vkey)) {
    throw new MarginProofError(
      'KEY_HASH_MISMATCH',
      'vkey',
      `${files.vkey} is missing: run npm run build:circuits`,
    );
  }
  return parseVerificationKey(size, readFileSync(files.vkey), dir);
}
