/**
 * `palisade prove-margin`: a zero-knowledge proof that the trader's account, in the account tree
 * at the state's height, has equity ≥ ratio × its standard maintenance (src/privacy). The secret
 * is read from a file and never printed; the proof written has no account field.
 *
 * Against a node (`--url`, `--account` the trader's public key): the node's witness for the account
 * (its leaf inputs and Merkle path, src/node/api/privacy.ts) and the account tree's checkpoint at
 * that height (root, maintenance rate and certified mark table). The prover does not need to trust
 * them: a witness that does not open the root yields no proof, and a verifier checks the root and
 * table against a finality certificate. Asking names the account to that node, never to the
 * verifier. Offline: `--state FILE`, the public state as JSON (src/privacy/client.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { AccountTreeRecordCodec, MarkTableCodec } from '../../codec/account-tree.ts';
import { CodecError } from '../../codec/errors.ts';
import { fromHex } from '../../crypto/bytes.ts';
import { type PoseidonHasher, syncPoseidon } from '../../crypto/poseidon-tree.ts';
import { bytesToField } from '../../execution/account-tree.ts';
import { accountTree, parsePublicState, ratioToBps, statementOf } from '../../privacy/client.ts';
import { loadProverArtifacts } from '../../privacy/keys.ts';
import {
  type AccountWitness,
  CIRCUIT_SIZES,
  type CircuitSize,
  MarginProofError,
  type MarginStatement,
} from '../../privacy/margin-proof.ts';
import { proveMargin, shutdownProver } from '../../privacy/prover.ts';
import { parseOptions, UsageError } from '../args.ts';
import { ClientError, createClient } from '../client.ts';

export const usage =
  'usage: palisade prove-margin (--url URL --account PUBLIC_KEY | --state FILE --account INDEX) --secret-file FILE --ratio 1.5 --challenge N --out proof.json [--circuit 1|4|16] [--json]\n' +
  "  --challenge: the verifier's challenge (decimal or 0x hex field element); --circuit 16 (default) hides the position count best";

const spec = {
  url: { type: 'string' },
  state: { type: 'string' },
  account: { type: 'string' },
  'secret-file': { type: 'string' },
  ratio: { type: 'string' },
  challenge: { type: 'string' },
  out: { type: 'string' },
  circuit: { type: 'string', default: '16' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export function fieldArgument(text: string, name: string): bigint {
  if (!/^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$/.test(text))
    throw new UsageError(`--${name} must be a decimal or 0x-hex integer`);
  return BigInt(text);
}

export function circuitArgument(text: string): CircuitSize {
  const size = Number(text);
  if (!CIRCUIT_SIZES.includes(size as CircuitSize)) throw new UsageError('--circuit must be 1, 4 or 16');
  return size as CircuitSize;
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseOptions(args, spec);
  if (values.help) {
    console.log(usage);
    return 0;
  }
  for (const name of ['account', 'secret-file', 'ratio', 'challenge', 'out'] as const) {
    if (values[name] === undefined) throw new UsageError(`--${name} is required`);
  }
  if ((values.url === undefined) === (values.state === undefined))
    throw new UsageError('give exactly one of --url and --state');
  const size = circuitArgument(values.circuit);
  const challenge = fieldArgument(values.challenge as string, 'challenge');
  const secret = fieldArgument(readFileSync(values['secret-file'] as string, 'utf8').trim(), 'secret-file');
  const kBps = ratioToBps(values.ratio as string);
  try {
    // The same Poseidon as circomlibjs (tested), without its seconds of loading.
    const hasher = syncPoseidon;
    const { statement, witness, commitment } =
      values.url === undefined
        ? fromStateFile(hasher, values.state as string, values.account as string, kBps, challenge, secret)
        : await fromNode(values.url, values.account as string, kBps, challenge, secret);
    const started = performance.now();
    const proof = await proveMargin(hasher, loadProverArtifacts(size), statement, witness, commitment);
    writeFileSync(values.out as string, `${JSON.stringify(proof, null, 2)}\n`);
    const summary = {
      out: values.out,
      height: proof.height,
      root: statement.root.toString(),
      circuit: size,
      kBps: statement.kBps,
      provingMs: Math.round(performance.now() - started),
    };
    console.log(
      values.json
        ? JSON.stringify(summary)
        : `proof written to ${summary.out}: height ${summary.height}, k ≥ ${values.ratio}, circuit ${size}, ${summary.provingMs} ms`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof MarginProofError || error instanceof ClientError || error instanceof CodecError))
      throw error;
    console.error(`palisade prove-margin: ${error.message}`);
    return 1;
  } finally {
    await shutdownProver();
  }
}

interface ProverInput {
  statement: MarginStatement;
  witness: AccountWitness;
  commitment: bigint;
}

function fromStateFile(
  hasher: PoseidonHasher,
  file: string,
  accountText: string,
  kBps: number,
  challenge: bigint,
  secret: bigint,
): ProverInput {
  const index = Number(accountText);
  if (!Number.isSafeInteger(index) || index < 0) throw new UsageError('--account must be an account index');
  const state = parsePublicState(JSON.parse(readFileSync(file, 'utf8')));
  const account = state.accounts.find((a) => a.index === index);
  if (account === undefined)
    throw new UsageError(`account ${index} has no registered commitment in the state`);
  const tree = accountTree(hasher, state);
  return {
    statement: statementOf(state, tree.root(), kBps, challenge),
    witness: {
      index,
      balance: account.balance,
      positions: account.positions,
      secret,
      path: tree.path(index),
    },
    commitment: account.commitment,
  };
}

/** The node's witness for the account and its account tree checkpoint at the same height. */
async function fromNode(
  url: string,
  accountText: string,
  kBps: number,
  challenge: bigint,
  secret: bigint,
): Promise<ProverInput> {
  const publicKey = fromHex(accountText);
  if (publicKey === undefined || publicKey.length !== 32)
    throw new UsageError("--account must be the account's public key (32 bytes, 0x-hex) with --url");
  const client = createClient({ url });
  const witness = await client.privacyWitness(publicKey);
  if (witness.leafBalance === null)
    throw new MarginProofError(
      'NOT_IN_TREE',
      'account',
      "the account's state does not fit the circuit (its leaf is empty)",
    );
  const checkpoint = await client.privacyCheckpoint(witness.height);
  const record = AccountTreeRecordCodec.decode(fromHex(checkpoint.record) ?? new Uint8Array());
  const table = MarkTableCodec.decode(fromHex(checkpoint.markTable) ?? new Uint8Array());
  return {
    statement: {
      height: witness.height,
      root: bytesToField(record.root),
      mmBps: record.mmBps,
      kBps,
      challenge,
      series: table.series.map((s) => ({ ...s, spot: BigInt(s.spot) })),
    },
    witness: {
      index: witness.index,
      balance: BigInt(witness.leafBalance),
      positions: witness.positions,
      secret,
      path: { siblings: witness.siblings.map((s) => BigInt(s)), pathBits: witness.pathBits },
    },
    commitment: BigInt(witness.commitment),
  };
}
