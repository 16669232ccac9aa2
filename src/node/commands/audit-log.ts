/**
 * `palisade audit-log --url URL [--verify [--genesis FILE [--wait-ms N] | --state-root HEX]] [--json]`:
 * fetches the engine's hash-chained audit log (`GET /v1/audit-log`) and prints it. With `--verify`
 * every entry's hash is recomputed (src/monitor/audit-log.ts's layout, which src/execution/audit.ts
 * commits) and linked to the one before; the chain's end must be the head the node's state proof
 * opens under its engine state root. That root is then tied to something the node cannot make up:
 * with `--genesis`, a light client trusting only the genesis validators follows finality until the
 * block at the proof's height + 16, and the node's opening (engine root and oracle aggregates) must
 * hash to the node state root that block commits (src/node/privacy.ts `openCommittedEngineRoot`,
 * the margin-proof verifier's check); with `--state-root` the root must be the one given. A failure
 * is an `AuditLogError` naming the entry.
 */

import { readFileSync } from 'node:fs';
import { fromJson } from '../../codec/json.ts';
import { AuditHeadRecordCodec } from '../../codec/snapshot.ts';
import { StateProofType } from '../../codec/state-proof.ts';
import { createValidatorSet } from '../../consensus/validators.ts';
import { fromHex, toHex } from '../../crypto/bytes.ts';
import { verifyStateProof } from '../../crypto/state-commitment.ts';
import { AUDIT_HEAD_STATE_KEY } from '../../execution/records.ts';
import { AUDIT_GENESIS_HASH, auditEntryHash } from '../../monitor/audit-log.ts';
import { parseOptions, UsageError } from '../args.ts';
import { parseGenesis } from '../genesis.ts';
import {
  createLightClient,
  createLightClientDriver,
  type LightClient,
  type LightClientDriver,
  LightClientError,
} from '../light-client.ts';
import { openCommittedEngineRoot } from '../privacy.ts';
import type { AuditEntryJson, AuditLogRead } from '../view.ts';

export const usage =
  'usage: palisade audit-log --url URL [--verify [--genesis FILE [--wait-ms 60000] | --state-root 0xHEX]] [--json]\n' +
  '  --verify checks every link and the end against the committed head (state proof);\n' +
  "  --genesis also checks that head's root against finality (a light client from the genesis validators);\n" +
  '  --state-root pins the root by hand instead';

export type AuditLogErrorCode =
  | 'BAD_SEQUENCE'
  | 'BAD_LINK'
  | 'BAD_HASH'
  | 'HEAD_MISMATCH'
  | 'BAD_STATE_PROOF'
  | 'ROOT_MISMATCH'
  | 'ROOT_NOT_COMMITTED'
  | 'OPENING_MISMATCH'
  | 'MALFORMED';

/** A served audit log that does not verify; `index` is the entry at fault (-1: the head or proof). */
export class AuditLogError extends Error {
  override readonly name = 'AuditLogError';
  readonly code: AuditLogErrorCode;
  readonly index: number;
  constructor(code: AuditLogErrorCode, index: number, detail: string, options?: { cause?: unknown }) {
    super(`${code} at entry ${index}: ${detail}`, options);
    this.code = code;
    this.index = index;
  }
}

function bytes(value: string, field: string, index: number): Uint8Array {
  const decoded = /^0x([0-9a-f]{2})*$/.test(value) ? fromHex(value.slice(2)) : undefined;
  if (decoded === undefined) throw new AuditLogError('MALFORMED', index, `${field} is not 0x-hex`);
  return decoded;
}

/** What the proof's engine root is checked against: a pinned root, or finality. */
export interface AuditLogTrust {
  /** The engine state root you trust at the proof's height, 0x-hex. */
  stateRoot?: string;
  /** A light client that followed finality past the proof's height + 16. */
  light?: Pick<LightClient, 'committedRoot'>;
}

/**
 * Checks a served log: entries consecutive and each hash recomputed and linked, the end equal to
 * the head committed under the proof's state root, that root equal to `trust.stateRoot` if given,
 * and if `trust.light` is given, the served opening of that root equal to the node state root
 * finality committed at the proof's height.
 * @returns the verified head and the first sequence the entries cover
 * @throws AuditLogError naming the first failure
 */
export function verifyAuditLog(
  read: AuditLogRead,
  trust: AuditLogTrust = {},
): { head: { sequence: number; hash: string }; from: number } {
  const trustedRoot = trust.stateRoot;
  const entries = read.entries;
  const from = entries[0]?.sequence ?? read.head.sequence;
  let previous = entries[0]?.previousHash ?? read.head.hash;
  if (from === 0 && previous !== AUDIT_GENESIS_HASH)
    throw new AuditLogError('BAD_LINK', 0, 'the first entry does not link to the genesis hash');
  for (const [i, entry] of entries.entries()) {
    if (entry.sequence !== from + i) throw new AuditLogError('BAD_SEQUENCE', i, `expected ${from + i}`);
    if (entry.previousHash !== previous)
      throw new AuditLogError('BAD_LINK', i, 'does not link to the entry before');
    let hash: string;
    try {
      const { sequence: _s, previousHash: _p, hash: _h, ...record } = entry;
      hash = auditEntryHash(read.chainId, entry.sequence, record, entry.previousHash);
    } catch (cause) {
      throw new AuditLogError('MALFORMED', i, (cause as Error).message, { cause });
    }
    if (hash !== entry.hash) throw new AuditLogError('BAD_HASH', i, 'the entry is not what its hash covers');
    previous = hash;
  }
  const end = { sequence: from + entries.length, hash: previous };
  if (end.sequence !== read.head.sequence || end.hash !== read.head.hash)
    throw new AuditLogError(
      'HEAD_MISMATCH',
      -1,
      `the chain ends at ${end.sequence}, the node's head is ${read.head.sequence}`,
    );
  const proof = read.proof;
  if (proof.key !== `0x${toHex(AUDIT_HEAD_STATE_KEY)}` || proof.value === null)
    throw new AuditLogError('BAD_STATE_PROOF', -1, 'not a proof of the audit head');
  const root = bytes(proof.stateRoot, 'proof.stateRoot', -1);
  const value = bytes(proof.value, 'proof.value', -1);
  let verified = false;
  try {
    verified = verifyStateProof(
      root,
      AUDIT_HEAD_STATE_KEY,
      value,
      fromJson(StateProofType, proof.proof, 'proof'),
    );
  } catch (cause) {
    throw new AuditLogError('BAD_STATE_PROOF', -1, 'the proof does not decode', { cause });
  }
  if (!verified) throw new AuditLogError('BAD_STATE_PROOF', -1, 'the head is not under the state root');
  const committed = AuditHeadRecordCodec.decode(value);
  if (committed.sequence !== end.sequence || `0x${toHex(committed.hash)}` !== end.hash)
    throw new AuditLogError('HEAD_MISMATCH', -1, 'the chain does not end at the committed head');
  if (trustedRoot !== undefined && trustedRoot.toLowerCase() !== proof.stateRoot)
    throw new AuditLogError(
      'ROOT_MISMATCH',
      -1,
      `the proof is under ${proof.stateRoot}, not the trusted root`,
    );
  if (trust.light !== undefined) {
    const opening = read.opening;
    if (typeof opening !== 'object' || opening === null || !Array.isArray(opening.prices))
      throw new AuditLogError('MALFORMED', -1, 'the node served no opening of its state root');
    const opened = openCommittedEngineRoot(trust.light, proof.height, opening);
    if ('refusal' in opened)
      throw new AuditLogError(opened.refusal, -1, `height ${proof.height}: ${opened.detail}`);
    if (`0x${toHex(opened.engineRoot)}` !== proof.stateRoot)
      throw new AuditLogError(
        'ROOT_MISMATCH',
        -1,
        `the proof is under ${proof.stateRoot}, finality certifies ${opening.engineStateRoot}`,
      );
  }
  return { head: end, from };
}

/** Every page of the log from the node. */
export async function fetchAuditLog(url: string): Promise<AuditLogRead> {
  const entries: AuditEntryJson[] = [];
  for (let page = 0; page < 10_000; page++) {
    const response = await fetch(
      new URL(
        `/v1/audit-log?from=${entries.length === 0 ? 0 : entries.at(-1)!.sequence + 1}&limit=1000`,
        url,
      ),
    );
    if (!response.ok) throw new UsageError(`${url} answered ${response.status} for /v1/audit-log`);
    const read = (await response.json()) as AuditLogRead;
    entries.push(...read.entries);
    if (read.entries.length === 0 || entries.at(-1)!.sequence + 1 >= read.head.sequence)
      return { ...read, entries };
  }
  throw new UsageError('the audit log has more pages than this command reads');
}

/**
 * Follows finality with `driver` until the proof's height is committed (the block at height + 16)
 * or `waitMs` passes with no new block, then verifies `read` against it.
 * @throws AuditLogError (ROOT_NOT_COMMITTED when finality never reached the height)
 */
export async function verifyAuditLogCertified(
  read: AuditLogRead,
  driver: LightClientDriver,
  waitMs: number,
): Promise<{ head: { sequence: number; hash: string }; from: number; certifiedBy: number }> {
  const height = read.proof?.height;
  const deadline = performance.now() + waitMs;
  while (Number.isSafeInteger(height) && driver.light.committedRoot(height) === undefined) {
    if ((await driver.sync()) === 0) {
      if (performance.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return { ...verifyAuditLog(read, { light: driver.light }), certifiedBy: driver.light.tip.height };
}

/** A light client trusting only the genesis file's validators (it checks finality, no prices). */
function genesisDriver(file: string, url: string): LightClientDriver {
  const genesis = parseGenesis(JSON.parse(readFileSync(file, 'utf8')));
  const light = createLightClient({
    chainId: genesis.chainId,
    validators: createValidatorSet(genesis.validators.map((v) => v.publicKey)),
    keyset: { epoch: genesis.dkg.epoch, groupPublicKey: new Uint8Array(33) },
    keysetDomain: {
      chainId: genesis.priceCertificates.chainId,
      verifyingContract: genesis.priceCertificates.verifyingContract,
    },
  });
  return createLightClientDriver(light, { url });
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseOptions(args, {
    url: { type: 'string' },
    verify: { type: 'boolean', default: false },
    'state-root': { type: 'string' },
    genesis: { type: 'string' },
    'wait-ms': { type: 'string', default: '60000' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (values.url === undefined) throw new UsageError('--url is required');
  if (values.genesis !== undefined && values['state-root'] !== undefined)
    throw new UsageError('give at most one of --genesis and --state-root');
  const waitMs = Number(values['wait-ms']);
  if (!Number.isSafeInteger(waitMs) || waitMs < 0) throw new UsageError('--wait-ms is a whole number of ms');
  const read = await fetchAuditLog(values.url);
  let verdict = 'not verified';
  if (values.verify) {
    try {
      const prefix = (head: { sequence: number; hash: string }, from: number) =>
        `verified: ${head.sequence - from} entries from ${from} link to head ${head.hash} committed under root ${read.proof.stateRoot} at height ${read.proof.height}`;
      if (values.genesis !== undefined) {
        const { head, from, certifiedBy } = await verifyAuditLogCertified(
          read,
          genesisDriver(values.genesis, values.url),
          waitMs,
        );
        verdict = `${prefix(head, from)} (certified: finalized block ${certifiedBy} commits the state after ${read.proof.height})`;
      } else {
        const stateRoot = values['state-root'];
        const { head, from } = verifyAuditLog(read, stateRoot === undefined ? {} : { stateRoot });
        verdict = `${prefix(head, from)}${stateRoot === undefined ? ' (root as the node served it; check it against finality with --genesis or pin one with --state-root)' : ' (root pinned by --state-root)'}`;
      }
    } catch (error) {
      if (error instanceof LightClientError) {
        console.error(
          `palisade audit-log: the node's chain is not finalized by the genesis validators: ${error.message}`,
        );
        return 1;
      }
      if (!(error instanceof AuditLogError)) throw error;
      console.error(`palisade audit-log: ${error.message}`);
      return 1;
    }
  }
  if (values.json) console.log(JSON.stringify({ ...read, verdict }));
  else {
    for (const entry of read.entries) {
      const details = Object.entries(entry.details)
        .map(([key, value]) => `${key}=${value}`)
        .join(' ');
      console.log(`${entry.sequence}\theight ${entry.height}\t${entry.kind}\t${entry.action}\t${details}`);
    }
    console.log(verdict);
  }
  return 0;
}
