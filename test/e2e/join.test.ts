/**
 * A validator added by governance on a real network (issue 11, "validator-set change"): four
 * validator processes on 127.0.0.1 run the genesis DKG; a fifth process, not in genesis, starts
 * with `join.trustedKeyset` (the genesis keyset) in its config. Until the change is committed no
 * validator dials it or accepts it, and it learns nothing (height 0, no peer). Three governors
 * sign a `changeValidators` add (timelock 0 in this genesis); from the block that executes it the
 * four admit and dial the fifth, which block-syncs, executes the boundary, receives the outgoing
 * keyset's package and its reshare deals, and signs: price certificates of the new epoch carry the
 * fifth validator's share, and its handover chain verifies from the genesis key. With one genesis
 * validator then SIGKILLed, blocks and certificates continue: they need the fifth one's votes and
 * share.
 *
 * Forged packages over the real transport: from the proposal on, the test holds validator 3's
 * identity key (a Byzantine outgoing member) and keeps connecting to the fifth validator as
 * validator 3, sending it a consistent package of another keyset for the change's boundary. One
 * forger is at most f: the fifth validator needs f + 1 = 2 outgoing members agreeing, so it must
 * join under the genesis group key all the same.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { encodeGovernanceAction, VALIDATOR_CHANGE } from '../../src/codec/execution.ts';
import { fromHex, toHex } from '../../src/crypto/bytes.ts';
import { createEd25519Signer, generateEd25519KeyPair } from '../../src/crypto/ed25519.ts';
import { runLocalKeygen } from '../../src/crypto/keygen.ts';
import { createEd25519Keystore, loadEd25519Keystore } from '../../src/crypto/keystore.ts';
import { signProposal } from '../../src/execution/governance.ts';
import { changeBoundary } from '../../src/execution/validator-set.ts';
import { followKeysetChain } from '../../src/interop/handover-certificate.ts';
import { KeysetPackageCodec } from '../../src/interop/keyset-package-codec.ts';
import type { KeyLifecycleJson } from '../../src/node/api/keys.ts';
import { createClient } from '../../src/node/client.ts';
import { run as runGenesis } from '../../src/node/commands/genesis.ts';
import { PALISADE_BIN } from '../../src/node/devnet/network.ts';
import type { NodeStatus, PriceCertificateEntry } from '../../src/node/view.ts';
import { createValidatorTlsIdentity } from '../../src/runtime/real/certificate.ts';
import { freeBasePort, sleep, waitFor } from './harness.ts';

const EPOCH_BLOCKS = 20;
const ORPHAN_GUARD = new URL('../../src/node/devnet/orphan-guard.ts', import.meta.url).href;
const root = mkdtempSync(join(tmpdir(), 'palisade-e2e-join-'));
const net = join(root, 'net');
const passwordFile = join(root, 'password.txt');
const PASSWORD = 'join-e2e-password';
const children = new Map<number, ChildProcess>();
let base: number;
const apiOf = (index: number) => `http://127.0.0.1:${base + 100 + index}`;

function startValidator(index: number): void {
  const log = openSync(join(root, `validator-${index}.log`), 'a');
  const child = spawn(
    process.execPath,
    [
      '--import',
      ORPHAN_GUARD,
      PALISADE_BIN,
      'node',
      '--config',
      join(net, `validator-${index}`, 'config.json'),
    ],
    { stdio: ['pipe', 'ignore', log] },
  );
  closeSync(log);
  children.set(index, child);
}

async function getJson<T>(index: number, path: string): Promise<T | undefined> {
  try {
    const response = await fetch(`${apiOf(index)}${path}`, { signal: AbortSignal.timeout(1000) });
    return response.ok ? ((await response.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}
const keysOf = (index: number) => getJson<KeyLifecycleJson>(index, '/v1/keys');
const statusOf = (index: number) => getJson<NodeStatus>(index, '/v1/status');
const certificatesOf = async (index: number) =>
  (await getJson<{ certificates: PriceCertificateEntry[] }>(index, '/v1/oracle/certificates'))
    ?.certificates ?? [];

/** A consistent public package of a keyset nobody certified: the right shape, the wrong group key. */
function foreignPackage(chainId: number, height: number): Uint8Array {
  const people = Array.from({ length: 4 }, () => createEd25519Signer(generateEd25519KeyPair().secretKey));
  const keys = people.map((person) => person.publicKey);
  const [result] = runLocalKeygen(
    { chainId, epoch: 1, kind: 'dkg', dealerKeys: keys, recipientKeys: keys, threshold: 3 },
    people.map((signer, i) => ({ dealer: i, recipient: i, signer })),
  );
  const pkg = result!.public;
  return KeysetPackageCodec.encode({
    chainId,
    epoch: 1,
    height,
    threshold: 3,
    participants: 4,
    commitments: pkg.commitments.map((c) => Uint8Array.from(c)),
    verifyingShares: Object.values(pkg.verifyingShares).map((share) => Uint8Array.from(share)),
    handovers: [],
  });
}

/** Connects to `address` as the holder of `secretKey` again and again, sending `payload` each time. */
function impersonate(secretKey: Uint8Array, address: { host: string; port: number }, payload: Uint8Array) {
  const identity = createValidatorTlsIdentity(secretKey);
  const frame = Buffer.concat([Buffer.alloc(4), Buffer.from(payload)]);
  frame.writeUInt32BE(payload.length, 0);
  let stopped = false;
  let socket: TLSSocket | undefined;
  let sent = 0;
  const connect = () => {
    if (stopped) return;
    socket = tlsConnect({
      ...address,
      cert: identity.certificatePem,
      key: identity.privateKeyPem,
      minVersion: 'TLSv1.3',
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    socket.on('error', () => {});
    socket.once('secureConnect', () => {
      socket?.write(frame);
      sent++;
      setTimeout(() => socket?.destroy(), 300);
    });
    socket.once('close', () => setTimeout(connect, 200));
  };
  connect();
  return {
    sent: () => sent,
    stop() {
      stopped = true;
      socket?.destroy();
    },
  };
}

before(async () => {
  base = await freeBasePort(5);
  writeFileSync(passwordFile, `${PASSWORD}\n`);
  const code = await runGenesis([
    '--out',
    net,
    '--validators',
    '4',
    '--base-port',
    String(base),
    '--leader-timeout-ms',
    '300',
    '--epoch-blocks',
    String(EPOCH_BLOCKS),
    // Generous deadlines: a keygen ends as soon as every message arrived, and start-up on a
    // loaded machine can take longer than a short deal window.
    '--keygen-deal-ms',
    '30000',
    '--keygen-complaint-ms',
    '5000',
    '--timelock-ms',
    '0',
    '--password-file',
    passwordFile,
    '--fast-kdf',
    '--json',
  ]);
  assert.equal(code, 0, 'palisade genesis');
  for (let index = 0; index < 4; index++) startValidator(index);
});

after(async () => {
  for (const child of children.values()) child.kill('SIGTERM');
  await Promise.all(
    [...children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ),
  );
  if (process.env.PALISADE_E2E_KEEP === undefined) rmSync(root, { recursive: true, force: true });
  else console.error(`kept ${root}`);
});

test('governance adds a fifth validator: it starts, is admitted only then, catches up, joins the keyset and signs', async () => {
  // Process start-up (module loading, the API's schema compilation) takes seconds, and over a
  // minute on a machine loaded several times over: wait for the APIs first.
  await waitFor(
    async () => (await Promise.all([0, 1, 2, 3].map(statusOf))).every((status) => status !== undefined),
    'the four validators’ APIs',
    180_000,
  );
  await waitFor(
    async () => (await Promise.all([0, 1, 2, 3].map(keysOf))).every((keys) => keys?.epoch === 1),
    'the genesis DKG on the four',
    60_000,
  );
  const genesisKeys = (await keysOf(0))!;
  const groupKey = genesisKeys.keyset!.groupPublicKey;

  // The fifth validator: its own key, a config naming the keyset its operator trusts.
  const joiner = generateEd25519KeyPair();
  const keystore = await createEd25519Keystore(joiner.secretKey, PASSWORD, {
    kdf: 'scrypt',
    scrypt: { n: 16_384, r: 8, p: 1 },
    label: 'validator 4',
  });
  const keystorePath = join(net, 'keys', 'validator-4.json');
  writeFileSync(keystorePath, JSON.stringify(keystore), { mode: 0o600 });
  const template = JSON.parse(readFileSync(join(net, 'validator-0', 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const directory = join(net, 'validator-4');
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  writeFileSync(
    join(directory, 'config.json'),
    JSON.stringify({
      ...template,
      index: 4,
      keystore: keystorePath,
      passwordFile,
      dataDirectory: join(directory, 'data'),
      p2pListen: `127.0.0.1:${base + 4}`,
      apiListen: `127.0.0.1:${base + 104}`,
      join: { trustedKeyset: { epoch: 1, groupPublicKey: groupKey } },
    }),
  );
  startValidator(4);
  await waitFor(async () => (await statusOf(4)) !== undefined, 'the fifth validator’s API', 180_000);

  // Attack: before governance adds it, it is no one's peer: nobody dials it or answers it.
  await sleep(2000);
  const early = (await statusOf(4))!;
  assert.equal(early.height, 0, 'it learned no block');
  assert.ok(
    early.validators.filter((v) => !v.self).every((v) => !v.connected),
    'no validator connected to it',
  );

  // Three of the five governors add it.
  const genesis = JSON.parse(readFileSync(join(net, 'genesis.json'), 'utf8')) as { chainId: number };
  const governors = await Promise.all(
    [0, 1, 2].map(async (i) => {
      const pair = await loadEd25519Keystore(
        readFileSync(join(net, 'keys', `governor-${i}.json`), 'utf8'),
        PASSWORD,
      );
      return createEd25519Signer(pair.secretKey);
    }),
  );
  const text = new TextEncoder();
  const proposal = {
    proposalId: 1,
    expiryMs: Date.now() + 600_000,
    action: encodeGovernanceAction({
      kind: 'changeValidators',
      value: {
        op: VALIDATOR_CHANGE.add,
        publicKey: joiner.publicKey,
        p2p: text.encode(`127.0.0.1:${base + 4}`),
        api: text.encode(apiOf(4)),
      },
    }),
    signatures: [] as { publicKey: Uint8Array; signature: Uint8Array }[],
  };
  proposal.signatures = governors.map((governor) => signProposal(governor, genesis.chainId, proposal));
  const { id } = await createClient({ url: apiOf(0) })
    .trader(governors[0]!)
    .submitAction({ kind: 'governanceProposal', value: proposal });
  const submittedAt = (await statusOf(0))!.height;
  let executedAt: number | undefined;
  await waitFor(
    async () => {
      executedAt = (await getJson<{ height?: number }>(0, `/v1/transactions/${id}`))?.height;
      return executedAt !== undefined;
    },
    'the proposal finalized',
    30_000,
  );
  const boundary = changeBoundary(EPOCH_BLOCKS, executedAt!);
  // A Byzantine outgoing member (validator 3's key) feeds the fifth a forged package meanwhile.
  const seed = (
    await loadEd25519Keystore(readFileSync(join(net, 'keys', 'validator-3.json'), 'utf8'), PASSWORD)
  ).secretKey;
  const forger = impersonate(
    seed,
    { host: '127.0.0.1', port: base + 4 },
    foreignPackage(genesis.chainId, boundary),
  );

  // Admitted once the change is committed (the next epoch's set): it catches up from the four.
  await waitFor(
    async () => ((await statusOf(4))?.height ?? 0) > submittedAt,
    'the fifth validator catching up past the proposal',
    30_000,
  );
  // At the boundary the keyset is reshared to the five, the fifth included.
  await waitFor(
    async () => {
      const keys = await keysOf(4);
      return keys?.keyset?.participants === 5 && (keys.epoch ?? 0) >= 2;
    },
    'the fifth validator holding a share of the reshared keyset',
    45_000,
  );
  forger.stop();
  assert.ok(forger.sent() > 0, 'the forger reached the fifth validator');
  const refusals = readFileSync(join(root, 'validator-4.log'), 'utf8')
    .split('\n')
    .filter((line) => line.includes('refused a keyset package')).length;
  // Whether the forgery is refused or outvoted depends on arrival order; the key below must hold.
  console.log(`forged packages sent: ${forger.sent()}, refused by the fifth validator: ${refusals}`);
  const joined = (await keysOf(4))!;
  assert.equal(joined.keyset!.groupPublicKey, groupKey, 'the reshare keeps the group key');
  assert.equal(joined.keyset!.threshold, 4);
  for (const index of [0, 1, 2, 3]) {
    const keys = (await keysOf(index))!;
    assert.equal(keys.keyset?.participants, 5, `validator ${index} moved to the five`);
  }

  // Certificates continue, with the fifth validator's share among the signers (member 4).
  await waitFor(
    async () =>
      (await Promise.all([0, 1, 2, 3, 4].map(keysOf))).some(
        (keys) => (keys?.lastAssembled?.epoch ?? 0) >= 2 && keys!.lastAssembled!.signers.includes(4),
      ),
    'a certificate of the new keyset signed with the fifth validator’s share',
    30_000,
  );
  const height = (await statusOf(4))!.height;
  await waitFor(
    async () => (await certificatesOf(4)).some((entry) => entry.height > height),
    'new certificates seen by the fifth validator',
    20_000,
  );
  // It votes and signs: with validator 3 killed, finality needs 4 of the 5 and every certificate
  // t = 4 shares, so neither continues without the fifth validator.
  children.get(3)!.kill('SIGKILL');
  const killedAt = (await statusOf(0))!.height;
  await waitFor(
    async () => ((await statusOf(0))?.height ?? 0) >= killedAt + 5,
    'finality with validator 3 down (the fifth validator’s votes needed)',
    30_000,
  );
  await waitFor(
    async () => (await certificatesOf(0)).some((entry) => entry.height > killedAt),
    'a certificate with validator 3 down (the fifth validator’s share needed)',
    30_000,
  );

  // Its handovers lead from the genesis keyset to its epoch.
  let keys: KeyLifecycleJson | undefined;
  await waitFor(
    async () => {
      keys = await keysOf(4);
      return keys !== undefined && keys.handovers.at(-1)?.toEpoch === keys.epoch;
    },
    'a handover chain up to the fifth validator’s epoch',
    20_000,
  );
  const domain = JSON.parse(readFileSync(join(net, 'genesis.json'), 'utf8')).priceCertificates as {
    chainId: number;
    verifyingContract: string;
  };
  const verdict = followKeysetChain(
    { epoch: 1, groupPublicKey: fromHex(groupKey.replace(/^0x/, ''))! },
    keys!.handovers.map((handover) => fromHex(handover.encoded.replace(/^0x/, ''))!),
    { chainId: domain.chainId, verifyingContract: fromHex(domain.verifyingContract.replace(/^0x/, ''))! },
  );
  assert.ok(verdict.ok, 'the handover chain verifies from the genesis keyset');
  assert.equal(verdict.keyset.epoch, keys!.epoch);
  assert.equal(toHex(verdict.keyset.groupPublicKey), groupKey.replace(/^0x/, ''));
});
