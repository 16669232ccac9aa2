/**
 * `palisade prove-margin`: a zero-knowledge proof that the trader's account, in the account tree
 * at the state's height, has equity ≥ ratio × its standard maintenance (src/privacy). The secret
 * is read from a file and never printed; the proof written has no account field.
 *
 * The public state comes from `--state FILE` (see src/privacy/client.ts) until the node serves the
 * Poseidon account tree and certified checkpoints carry its root.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadPoseidon } from '../../crypto/poseidon-tree.ts';
import { accountTree, parsePublicState, ratioToBps, statementOf } from '../../privacy/client.ts';
import { loadProverArtifacts } from '../../privacy/keys.ts';
import { CIRCUIT_SIZES, type CircuitSize, MarginProofError } from '../../privacy/margin-proof.ts';
import { proveMargin, shutdownProver } from '../../privacy/prover.ts';
import { parseOptions, UsageError } from '../args.ts';

export const usage =
  'usage: palisade prove-margin --state FILE --account INDEX --secret-file FILE --ratio 1.5 --challenge N --out proof.json [--circuit 1|4|16] [--json]\n' +
  "  --challenge: the verifier's challenge (decimal or 0x hex field element); --circuit 16 (default) hides the position count best";

const spec = {
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
  for (const name of ['state', 'account', 'secret-file', 'ratio', 'challenge', 'out'] as const) {
    if (values[name] === undefined) throw new UsageError(`--${name} is required`);
  }
  const index = Number(values.account);
  if (!Number.isSafeInteger(index) || index < 0) throw new UsageError('--account must be an account index');
  const size = circuitArgument(values.circuit);
  const challenge = fieldArgument(values.challenge as string, 'challenge');
  const secret = fieldArgument(readFileSync(values['secret-file'] as string, 'utf8').trim(), 'secret-file');
  try {
    const hasher = await loadPoseidon();
    const state = parsePublicState(JSON.parse(readFileSync(values.state as string, 'utf8')));
    const account = state.accounts.find((a) => a.index === index);
    if (account === undefined)
      throw new UsageError(`account ${index} has no registered commitment in the state`);
    const tree = accountTree(hasher, state);
    const statement = statementOf(state, tree.root(), ratioToBps(values.ratio as string), challenge);
    const started = performance.now();
    const proof = await proveMargin(
      hasher,
      loadProverArtifacts(size),
      statement,
      { index, balance: account.balance, positions: account.positions, secret, path: tree.path(index) },
      account.commitment,
    );
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
    if (!(error instanceof MarginProofError)) throw error;
    console.error(`palisade prove-margin: ${error.message}`);
    return 1;
  } finally {
    await shutdownProver();
  }
}
