/**
 * `palisade verify-margin proof.json`: checks a margin proof against the verifier's own statement
 * (its challenge, its ratio, the root of a checkpoint it trusts) and its record of tags already
 * accepted under that challenge.
 *
 * The root, certified (`--url URL --genesis FILE`): a light client trusting only the genesis
 * validator set follows the node's finalized chain to the block that commits the node state root
 * after the proof's height (height + 16), and the node's account tree checkpoint is accepted only
 * when its opening, state proof and mark table check against that root
 * (src/node/privacy.ts `verifyAccountTreeCheckpoint`); the statement (root, maintenance rate, marks)
 * is then the certified one. Offline, the verifier supplies the root instead — `--root` (out of
 * band) or recomputed from `--state FILE` — and the command says which it used: such a root is
 * only as trustworthy as its source.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createValidatorSet } from '../../consensus/validators.ts';
import { loadPoseidon } from '../../crypto/poseidon-tree.ts';
import { accountTree, parsePublicState, ratioToBps, statementOf } from '../../privacy/client.ts';
import { loadVerificationKey } from '../../privacy/keys.ts';
import { MarginProofError, parseMarginProof, TagRegistry } from '../../privacy/margin-proof.ts';
import { shutdownProver, verifyMargin } from '../../privacy/prover.ts';
import { parseOptions, UsageError } from '../args.ts';
import { ClientError, createClient } from '../client.ts';
import { parseGenesis } from '../genesis.ts';
import { createLightClient, createLightClientDriver, LightClientError } from '../light-client.ts';
import { AccountTreeCheckpointError, certifiedStatement, verifyAccountTreeCheckpoint } from '../privacy.ts';
import { fieldArgument } from './prove-margin.ts';

export const usage =
  'usage: palisade verify-margin PROOF (--url URL --genesis FILE [--wait-ms 60000] | --state FILE [--root N] [--current-height H]) --ratio 1.5 --challenge N [--max-age 100] [--tags FILE] [--json]\n' +
  '  --root pins the account root you trust (else it is recomputed from --state); --tags keeps the tags seen per challenge';

const spec = {
  url: { type: 'string' },
  genesis: { type: 'string' },
  'wait-ms': { type: 'string', default: '60000' },
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
  for (const name of ['ratio', 'challenge'] as const) {
    if (values[name] === undefined) throw new UsageError(`--${name} is required`);
  }
  if ((values.url === undefined) === (values.state === undefined))
    throw new UsageError('give exactly one of --url (with --genesis) and --state');
  if (values.url !== undefined && values.genesis === undefined)
    throw new UsageError('--genesis is required with --url: the light client trusts only its validators');
  const maxAge = Number(values['max-age']);
  if (!Number.isSafeInteger(maxAge) || maxAge < 0) throw new UsageError('--max-age must be a block count');
  const challenge = fieldArgument(values.challenge as string, 'challenge');
  if (values.url !== undefined) {
    return verifyCertified(file, {
      url: values.url,
      genesis: values.genesis as string,
      waitMs: Number(values['wait-ms']),
      kBps: ratioToBps(values.ratio as string),
      ratio: values.ratio as string,
      challenge,
      maxAge,
      tags: values.tags,
      json: values.json,
    });
  }
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
    const { tags, seen } = readTags(values.tags);
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

function readTags(file: string | undefined): { tags: TagRegistry; seen: string[] } {
  const tags = new TagRegistry();
  const seen: string[] = file !== undefined && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : [];
  for (const entry of seen) {
    const [c, t] = entry.split(':');
    if (c !== undefined && t !== undefined) tags.add(BigInt(c), t);
  }
  return { tags, seen };
}

interface CertifiedOptions {
  url: string;
  genesis: string;
  waitMs: number;
  kBps: number;
  ratio: string;
  challenge: bigint;
  maxAge: number;
  tags: string | undefined;
  json: boolean;
}

/** The `--url` path: the statement comes from the account tree the finalized chain certifies. */
async function verifyCertified(file: string, options: CertifiedOptions): Promise<number> {
  const genesis = parseGenesis(JSON.parse(readFileSync(options.genesis, 'utf8')));
  // This light client only follows finality and opens committed roots; it checks no price
  // certificate or handover, so the price keyset it is given is never consulted.
  const light = createLightClient({
    chainId: genesis.chainId,
    validators: createValidatorSet(genesis.validators.map((v) => v.publicKey)),
    keyset: { epoch: genesis.dkg.epoch, groupPublicKey: new Uint8Array(33) },
    keysetDomain: {
      chainId: genesis.priceCertificates.chainId,
      verifyingContract: genesis.priceCertificates.verifyingContract,
    },
  });
  const driver = createLightClientDriver(light, { url: options.url });
  const client = createClient({ url: options.url });
  try {
    const proof = parseMarginProof(JSON.parse(readFileSync(file, 'utf8')));
    const deadline = performance.now() + options.waitMs;
    while (light.committedRoot(proof.height) === undefined) {
      if ((await driver.sync()) === 0) {
        if (performance.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    const tree = verifyAccountTreeCheckpoint(
      light,
      proof.height,
      await client.privacyCheckpoint(proof.height),
    );
    const { tags, seen } = readTags(options.tags);
    const started = performance.now();
    const verified = await verifyMargin(certifiedStatement(tree, options.kBps, options.challenge), proof, {
      checkpoint: { height: tree.height, accountRoot: tree.root },
      currentHeight: light.tip.height,
      maxAgeBlocks: options.maxAge,
      verificationKeys: { [proof.circuit]: loadVerificationKey(proof.circuit) },
      tags,
    });
    const ms = performance.now() - started;
    if (options.tags !== undefined)
      writeFileSync(options.tags, `${JSON.stringify([...seen, `${options.challenge}:${verified.tag}`])}\n`);
    const result = {
      valid: true,
      height: verified.height,
      root: tree.root.toString(),
      rootSource: `certified: finalized block ${light.tip.height} commits the state after ${tree.height}`,
      registeredAccounts: tree.leaves,
      circuit: verified.circuit,
      verifyMs: Number(ms.toFixed(1)),
    };
    console.log(
      options.json
        ? JSON.stringify(result)
        : `valid: one of the ${tree.leaves} registered accounts at height ${verified.height} has equity ≥ ${options.ratio} × maintenance (root ${result.rootSource}; ${result.verifyMs} ms)`,
    );
    return 0;
  } catch (error) {
    const known =
      error instanceof MarginProofError ||
      error instanceof AccountTreeCheckpointError ||
      error instanceof LightClientError ||
      error instanceof ClientError;
    if (!known) throw error;
    const code = (error as { code: string }).code;
    console.log(
      options.json
        ? JSON.stringify({ valid: false, code, message: error.message })
        : `refused: ${error.message}`,
    );
    return 1;
  } finally {
    await shutdownProver();
  }
}
