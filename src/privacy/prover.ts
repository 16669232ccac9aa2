/**
 * Proving and verifying margin proofs with Groth16 (snarkjs), and the verifier's whole check:
 * the statement is the verifier's own (root of a checkpoint it trusts, the certified table, k,
 * its challenge), never read from the proof; the proof only contributes its tag and the points.
 */
import { groth16 } from 'snarkjs';
import type { PoseidonHasher } from '../crypto/poseidon-tree.ts';
import type { ProverArtifacts } from './keys.ts';
import {
  type AccountWitness,
  type CircuitSize,
  checkWitness,
  circuitInputs,
  type MarginProof,
  MarginProofError,
  type MarginStatement,
  publicSignalsOf,
  TAG_SIGNAL,
  type TagRegistry,
} from './margin-proof.ts';

export interface ProveOptions {
  /** Prove on the calling thread only (the benchmark's "one core"). */
  singleThread?: boolean;
}

/** Runs the circuit on raw inputs: what an adversary can do with the public circuit and keys. */
export async function proveInputs(
  artifacts: ProverArtifacts,
  height: number,
  inputs: Record<string, string | string[]>,
  options: ProveOptions = {},
): Promise<MarginProof> {
  let result: Awaited<ReturnType<typeof groth16.fullProve>>;
  try {
    result = await groth16.fullProve(inputs, artifacts.wasm, artifacts.zkey, undefined, undefined, {
      singleThread: options.singleThread === true,
    });
  } catch (cause) {
    throw new MarginProofError('PROOF_FAILED', 'witness', 'the circuit refused these inputs', { cause });
  }
  const p = result.proof;
  return {
    version: 1,
    circuit: artifacts.size,
    height,
    publicSignals: result.publicSignals,
    proof: { pi_a: p.pi_a, pi_b: p.pi_b, pi_c: p.pi_c, protocol: p.protocol, curve: p.curve },
  };
}

/** The trader's proof that its account meets the statement, after the prover's own checks. */
export async function proveMargin(
  hasher: PoseidonHasher,
  artifacts: ProverArtifacts,
  statement: MarginStatement,
  witness: AccountWitness,
  registeredCommitment: bigint,
  options: ProveOptions = {},
): Promise<MarginProof> {
  checkWitness(hasher, statement, witness, registeredCommitment);
  return proveInputs(
    artifacts,
    statement.height,
    circuitInputs(hasher, statement, witness, artifacts.size),
    options,
  );
}

export interface TrustedCheckpoint {
  height: number;
  /** The account root certified at `height`. */
  accountRoot: bigint;
}

export interface VerifyContext {
  /** The checkpoint the verifier accepts this proof against (from a certified checkpoint). */
  checkpoint: TrustedCheckpoint;
  /** The newest height the verifier knows, and how old a checkpoint it still accepts. */
  currentHeight: number;
  maxAgeBlocks: number;
  /** Verification key per circuit size, already checked against the committed hashes. */
  verificationKeys: Partial<Record<CircuitSize, unknown>>;
  tags: TagRegistry;
}

export interface VerifiedMargin {
  tag: string;
  circuit: CircuitSize;
  height: number;
}

/**
 * Accepts `proof` for `statement` or throws a `MarginProofError` saying why not. On acceptance the
 * tag is recorded: the same account cannot be shown twice under this challenge.
 */
export async function verifyMargin(
  statement: MarginStatement,
  proof: MarginProof,
  context: VerifyContext,
): Promise<VerifiedMargin> {
  if (proof.height !== context.checkpoint.height || statement.height !== context.checkpoint.height) {
    throw new MarginProofError(
      'WRONG_ROOT',
      'height',
      `proof for height ${proof.height}, checkpoint is ${context.checkpoint.height}`,
    );
  }
  if (statement.root !== context.checkpoint.accountRoot) {
    throw new MarginProofError('WRONG_ROOT', 'root', 'the statement is not about the trusted checkpoint');
  }
  if (context.currentHeight - proof.height > context.maxAgeBlocks) {
    throw new MarginProofError(
      'STALE_CHECKPOINT',
      'height',
      `checkpoint ${proof.height} is ${context.currentHeight - proof.height} blocks old (at most ${context.maxAgeBlocks})`,
    );
  }
  const tag = proof.publicSignals[TAG_SIGNAL];
  if (tag === undefined) throw new MarginProofError('MALFORMED_PROOF', 'publicSignals', 'too short');
  const expected = publicSignalsOf(statement, BigInt(tag));
  if (proof.publicSignals.length !== expected.length) {
    throw new MarginProofError('MALFORMED_PROOF', 'publicSignals', `expected ${expected.length} signals`);
  }
  const differs = expected.findIndex((s, i) => s !== proof.publicSignals[i]);
  if (differs >= 0) {
    const field =
      differs === 0
        ? 'root'
        : differs === 1
          ? 'mmBps'
          : differs === 2
            ? 'kBps'
            : differs === 3
              ? 'challenge'
              : 'series';
    throw new MarginProofError('WRONG_STATEMENT', field, `public signal ${differs} is not the verifier's`);
  }
  const vkey = context.verificationKeys[proof.circuit];
  if (vkey === undefined) {
    throw new MarginProofError(
      'INVALID_PROOF',
      'circuit',
      `no verification key for circuit ${proof.circuit}`,
    );
  }
  let valid = false;
  try {
    valid = await groth16.verify(vkey, expected, proof.proof);
  } catch (cause) {
    throw new MarginProofError('INVALID_PROOF', 'proof', 'the proof does not parse as Groth16 points', {
      cause,
    });
  }
  if (!valid) throw new MarginProofError('INVALID_PROOF', 'proof', 'the pairing check failed');
  if (context.tags.has(statement.challenge, tag)) {
    throw new MarginProofError('TAG_REUSED', 'tag', 'this account was already shown under this challenge');
  }
  context.tags.add(statement.challenge, tag);
  return { tag, circuit: proof.circuit, height: proof.height };
}

/** Stops snarkjs's worker threads so a process can exit. */
export async function shutdownProver(): Promise<void> {
  const curve = (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128;
  if (curve) await curve.terminate();
  (globalThis as { curve_bn128?: unknown }).curve_bn128 = null;
}
