/**
 * `palisade verify-margin proof.json`: checks a margin proof against the verifier's own statement
 * (its challenge, its ratio, the root of a checkpoint it trusts) and its record of tags already
 * accepted under that challenge.
 *
 * The root: until certified checkpoints carry the account root, the verifier supplies it — either
 * `--root` (given out of band) or recomputed from `--state FILE` (the public state). Either way the
 * root is only as trustworthy as its source; the command says which it used. With certified
 * checkpoints this becomes `--url` and a checkpoint certificate check.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadPoseidon } from '../../crypto/poseidon-tree.ts';
import { accountTree, parsePublicState, ratioToBps, statementOf } from '../../privacy/client.ts';
import { loadVerificationKey } from '../../privacy/keys.ts';
import { MarginProofError, parseMarginProof, TagRegistry } from '../../privacy/margin-proof.ts';
import { shutdownProver, verifyMargin } from '../../privacy/prover.ts';
import { parseOptions, UsageError } from '../args.ts';
import { fieldArgument } from './prove-margin.ts';

export const usage =
  'usage: palisade verify-margin PROOF --state FILE --ratio 1.5 --challenge N [--root N] [--current-height H] [--max-age 100] [--tags FILE] [--json]\n' +
  '  --root pins the account root you trust (else it is recomputed from --state); --tags keeps the tags seen per challenge';

const spec = {
  state: { type: 'string' },
  ratio: { type: 'string' },
  challenge: { type: 'string' },
  root: { type: 'string' },
  'current-height': { type: 'string' },
  'max-age': { type: 'string', default: '100' },
  tags: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, spec);
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const file = positionals[0];
  if (file === undefined) throw new UsageError('the proof file is required');
  for (const name of ['state', 'ratio', 'challenge'] as const) {
    if (values[name] === undefined) throw new UsageError(`--${name} is required`);
  }
  const maxAge = Number(values['max-age']);
  if (!Number.isSafeInteger(maxAge) || maxAge < 0) throw new UsageError('--max-age must be a block count');
  const challenge = fieldArgument(values.challenge as string, 'challenge');
  try {
    const hasher = await loadPoseidon();
    const state = parsePublicState(JSON.parse(readFileSync(values.state as string, 'utf8')));
    const rootSource = values.root === undefined ? 'recomputed from --state' : 'supplied with --root';
    const root =
      values.root === undefined ? accountTree(hasher, state).root() : fieldArgument(values.root, 'root');
    const currentHeight =
      values['current-height'] === undefined ? state.height : Number(values['current-height']);
    if (!Number.isSafeInteger(currentHeight)) throw new UsageError('--current-height must be a height');
    const proof = parseMarginProof(JSON.parse(readFileSync(file, 'utf8')));
    const tags = new TagRegistry();
    const seen: string[] =
      values.tags !== undefined && existsSync(values.tags)
        ? JSON.parse(readFileSync(values.tags, 'utf8'))
        : [];
    for (const entry of seen) {
      const [c, t] = entry.split(':');
      if (c !== undefined && t !== undefined) tags.add(BigInt(c), t);
    }
    const started = performance.now();
    const verified = await verifyMargin(
      statementOf(state, root, ratioToBps(values.ratio as string), challenge),
      proof,
      {
        checkpoint: { height: state.height, accountRoot: root },
        currentHeight,
        maxAgeBlocks: maxAge,
        verificationKeys: { [proof.circuit]: loadVerificationKey(proof.circuit) },
        tags,
      },
    );
    const ms = performance.now() - started;
    if (values.tags !== undefined) {
      writeFileSync(values.tags, `${JSON.stringify([...seen, `${challenge}:${verified.tag}`])}\n`);
    }
    const result = {
      valid: true,
      height: verified.height,
      root: root.toString(),
      rootSource,
      circuit: verified.circuit,
      verifyMs: Number(ms.toFixed(1)),
    };
    console.log(
      values.json
        ? JSON.stringify(result)
        : `valid: an account at height ${verified.height} has equity ≥ ${values.ratio} × maintenance (root ${rootSource}; ${result.verifyMs} ms)`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof MarginProofError)) throw error;
    console.log(
      values.json
        ? JSON.stringify({ valid: false, code: error.code, field: error.field, message: error.message })
        : `refused: ${error.message}`,
    );
    return 1;
  } finally {
    await shutdownProver();
  }
}
