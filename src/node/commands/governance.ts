/**
 * `palisade governance propose|sign|submit`: a governance proposal (src/execution/governance.ts)
 * as a file that travels from governor to governor.
 *
 *   propose  --action JSON --chain-id ID --id N --expiry-ms MS --out FILE
 *            writes the proposal: the action (JSON and its canonical encoding, hex) and no signature
 *   sign     FILE --keystore KEY [--password-file F]
 *            adds the key's signature over the proposal's digest (chain id, id, expiry, action)
 *   submit   FILE --url URL --keystore KEY [--password-file F]
 *            sends it in a transaction signed by KEY (a governor, guardian or funded account)
 *
 * The action JSON is `{"kind": …, "value": …}` with a kind of src/codec/execution.ts's
 * `GovernanceAction`; bytes are hex (`setGovernance` keys, `changeValidators` publicKey) and
 * `setParameter`'s name and `changeValidators`' p2p and api are text: `{"kind": "changeValidators",
 * "value": {"op": "add", "publicKey": "<hex>", "p2p": "10.0.0.5:26600", "api": "http://…"}}`. Nothing
 * here decides whether signatures suffice: the engine counts them, and `submit` prints its answer.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import {
  decodeGovernanceAction,
  encodeGovernanceAction,
  type GovernanceAction,
  type GovernanceProposal,
} from '../../codec/execution.ts';
import { fromHex, toHex } from '../../crypto/bytes.ts';
import { createEd25519Signer, type Ed25519Signer } from '../../crypto/ed25519.ts';
import { loadEd25519Keystore } from '../../crypto/keystore.ts';
import { signProposal } from '../../execution/governance.ts';
import { parseOptions, UsageError } from '../args.ts';
import { createClient } from '../client.ts';
import { PASSWORD_ENVIRONMENT_VARIABLE } from './genesis.ts';

export const PROPOSAL_FORMAT = 'palisade-governance-proposal/1';

export const usage = `usage: palisade governance propose --action JSON --chain-id ID --id N --expiry-ms MS --out FILE
       palisade governance sign FILE --keystore KEY [--password-file F]
       palisade governance submit FILE --url URL --keystore KEY [--password-file F] [--json]
  password: --password-file (first line), else $${PASSWORD_ENVIRONMENT_VARIABLE}`;

const spec = {
  action: { type: 'string' },
  'chain-id': { type: 'string' },
  id: { type: 'string' },
  'expiry-ms': { type: 'string' },
  out: { type: 'string' },
  keystore: { type: 'string' },
  'password-file': { type: 'string' },
  url: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** A proposal as its file holds it. */
export interface ProposalFile {
  format: typeof PROPOSAL_FORMAT;
  chainId: number;
  proposalId: number;
  expiryMs: number;
  /** The action as given, for people to read; `actionHex` is what is signed. */
  action: unknown;
  actionHex: string;
  signatures: Array<{ publicKey: string; signature: string }>;
}

function integer(value: string | undefined, name: string): number {
  if (value === undefined) throw new UsageError(`--${name} is required`);
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0)
    throw new UsageError(`--${name} must be a non-negative integer`);
  return parsed;
}

function hexBytes(value: unknown, field: string): Uint8Array {
  const bytes = typeof value === 'string' ? fromHex(value.replace(/^0x/, '')) : undefined;
  if (bytes === undefined) throw new UsageError(`${field} must be hex`);
  return bytes;
}

/** The governance action a JSON form names; bytes as hex, a parameter name as text. */
export function governanceActionOf(json: unknown): GovernanceAction {
  if (typeof json !== 'object' || json === null) throw new UsageError('--action must be a JSON object');
  const { kind, value } = json as { kind?: unknown; value?: Record<string, unknown> };
  if (typeof kind !== 'string' || typeof value !== 'object' || value === null)
    throw new UsageError('--action needs "kind" and "value"');
  let action: unknown;
  if (kind === 'setParameter')
    action = { kind, value: { name: new TextEncoder().encode(String(value.name)), value: value.value } };
  else if (kind === 'setGovernance') {
    const keys = (list: unknown, field: string) =>
      (Array.isArray(list) ? list : []).map((key, i) => hexBytes(key, `${field}[${i}]`));
    action = {
      kind,
      value: {
        ...value,
        governors: keys(value.governors, 'governors'),
        guardians: keys(value.guardians, 'guardians'),
      },
    };
  } else if (kind === 'changeValidators') {
    // {"op": "add" | "remove", "publicKey": hex, "p2p": "host:port", "api": URL}; a removal names the key alone.
    const op = value.op === 'add' || value.op === 0 ? 0 : value.op === 'remove' || value.op === 1 ? 1 : -1;
    if (op < 0) throw new UsageError('changeValidators op must be "add" or "remove"');
    const textOf = (field: 'p2p' | 'api') => {
      const given = value[field];
      if (given !== undefined && typeof given !== 'string')
        throw new UsageError(`changeValidators ${field} must be text`);
      return new TextEncoder().encode(given ?? '');
    };
    action = {
      kind,
      value: {
        op,
        publicKey: hexBytes(value.publicKey, 'publicKey'),
        p2p: textOf('p2p'),
        api: textOf('api'),
      },
    };
  } else action = { kind, value };
  try {
    // Encoding then decoding refuses an unknown kind, a missing field and a value out of range.
    return decodeGovernanceAction(encodeGovernanceAction(action as GovernanceAction));
  } catch (cause) {
    throw new UsageError(`--action is not a governance action: ${(cause as Error).message}`);
  }
}

function readProposal(path: string): ProposalFile {
  const file = JSON.parse(readFileSync(path, 'utf8')) as ProposalFile;
  if (file.format !== PROPOSAL_FORMAT) throw new UsageError(`${path} is not a ${PROPOSAL_FORMAT} file`);
  decodeGovernanceAction(hexBytes(file.actionHex, 'actionHex'));
  return file;
}

/** The proposal message a file describes, with its signatures. */
export function proposalOf(file: ProposalFile): GovernanceProposal {
  return {
    proposalId: file.proposalId,
    expiryMs: file.expiryMs,
    action: hexBytes(file.actionHex, 'actionHex'),
    signatures: file.signatures.map((entry) => ({
      publicKey: hexBytes(entry.publicKey, 'signatures.publicKey'),
      signature: hexBytes(entry.signature, 'signatures.signature'),
    })),
  };
}

async function signerOf(
  keystore: string | undefined,
  passwordFile: string | undefined,
): Promise<Ed25519Signer> {
  if (keystore === undefined) throw new UsageError('--keystore is required');
  const password =
    passwordFile !== undefined
      ? (readFileSync(passwordFile, 'utf8').split(/\r?\n/)[0] ?? '')
      : (process.env[PASSWORD_ENVIRONMENT_VARIABLE] ?? '');
  const pair = await loadEd25519Keystore(readFileSync(keystore, 'utf8'), password);
  return createEd25519Signer(pair.secretKey);
}

/**
 * Runs `palisade governance`.
 * @example await run(['sign', 'proposal.json', '--keystore', 'keys/governor-1.json'])
 */
export async function run(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  const { values, positionals } = parseOptions(rest, spec);
  if (values.help || verb === undefined || verb === '--help' || verb === '-h') {
    console.log(usage);
    return 0;
  }
  if (verb === 'propose') {
    if (values.action === undefined || values.out === undefined)
      throw new UsageError('--action and --out are required');
    let json: unknown;
    try {
      json = JSON.parse(values.action);
    } catch {
      throw new UsageError('--action must be JSON');
    }
    const action = governanceActionOf(json);
    const file: ProposalFile = {
      format: PROPOSAL_FORMAT,
      chainId: integer(values['chain-id'], 'chain-id'),
      proposalId: integer(values.id, 'id'),
      expiryMs: integer(values['expiry-ms'], 'expiry-ms'),
      action: json,
      actionHex: toHex(encodeGovernanceAction(action)),
      signatures: [],
    };
    writeFileSync(values.out, `${JSON.stringify(file, null, 2)}\n`, { flag: 'wx' });
    console.log(`proposal ${file.proposalId} (${action.kind}) written to ${values.out}`);
    return 0;
  }
  const path = positionals[0];
  if (path === undefined) throw new UsageError('the proposal file is required');
  const file = readProposal(path);
  const signer = await signerOf(values.keystore, values['password-file']);
  if (verb === 'sign') {
    const entry = signProposal(signer, file.chainId, proposalOf(file));
    const publicKey = toHex(entry.publicKey);
    file.signatures = file.signatures.filter((existing) => existing.publicKey !== publicKey);
    file.signatures.push({ publicKey, signature: toHex(entry.signature) });
    writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
    console.log(`signed by ${publicKey} (${file.signatures.length} signature(s))`);
    return 0;
  }
  if (verb === 'submit') {
    if (values.url === undefined) throw new UsageError('--url is required');
    const client = createClient({ url: values.url });
    const { id } = await client
      .trader(signer)
      .submitAction({ kind: 'governanceProposal', value: proposalOf(file) });
    if (values.json) console.log(JSON.stringify({ id, proposalId: file.proposalId }));
    else console.log(`submitted proposal ${file.proposalId} as transaction ${id}`);
    return 0;
  }
  throw new UsageError(`unknown governance command ${verb}; expected propose, sign or submit`);
}
