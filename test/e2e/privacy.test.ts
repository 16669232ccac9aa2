/**
 * Margin proofs on a devnet of real validator processes (issue 17, 1-slot circuit): a trader
 * registers Poseidon(secret) by transaction, proves with `palisade prove-margin --url` from its
 * node's witness, and a third party — another validator's API, a light client trusting only the
 * genesis validators — verifies with `palisade verify-margin --url` against the account root the
 * finalized chain certifies. The proof file carries no account field and nothing that names the
 * account; the same account shown twice to the verifier's challenge is refused.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { toHex } from '../../src/crypto/bytes.ts';
import { createEd25519Signer } from '../../src/crypto/ed25519.ts';
import { loadEd25519Keystore } from '../../src/crypto/keystore.ts';
import { FIELD_ORDER, ownerCommitment, syncPoseidon } from '../../src/crypto/poseidon-tree.ts';
import { fieldToBytes } from '../../src/execution/account-tree.ts';
import { createClient } from '../../src/node/client.ts';
import { run as prove } from '../../src/node/commands/prove-margin.ts';
import { run as verify } from '../../src/node/commands/verify-margin.ts';
import { artifactsBuilt } from '../../src/privacy/keys.ts';
import { startTestDevnet, type TestDevnet, waitFor } from './harness.ts';

let net: TestDevnet;
const dir = mkdtempSync(join(tmpdir(), 'palisade-e2e-zk-'));

before(async () => {
  net = await startTestDevnet({ validators: 4 });
});

after(async () => {
  await net?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function quiet(body: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (line: string) => lines.push(line);
  console.error = (line: string) => lines.push(line);
  try {
    return { code: await body(), out: lines.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test('register, prove against the node, verify against the certified root from another validator', {
  timeout: 60_000,
  skip: !artifactsBuilt(1) && 'circuit 1 not built',
}, async () => {
  const network = net.devnet.network;
  const password = readFileSync(network.passwordFile, 'utf8').split('\n')[0]!;
  const pair = await loadEd25519Keystore(readFileSync(network.traderKeystores[0]!, 'utf8'), password);
  const publicKey = `0x${toHex(pair.publicKey)}`;
  const client = createClient({ url: net.apiUrls[0]! });
  const trader = client.trader(createEd25519Signer(pair.secretKey));
  const secret = BigInt(`0x${toHex(randomBytes(31))}`) % FIELD_ORDER;
  writeFileSync(join(dir, 'secret'), `${secret}\n`);
  const { id } = await trader.submitAction({
    kind: 'registerCommitment',
    value: { commitment: fieldToBytes(ownerCommitment(syncPoseidon, secret)) },
  });
  assert.equal((await client.waitForTransaction(id, { timeoutMs: 20_000 })).status, 'OK');
  await waitFor(
    async () => (await client.privacyWitness(publicKey).catch(() => undefined)) !== undefined,
    'the witness of the registered account',
    10_000,
  );

  const challenge = `0x${toHex(randomBytes(16))}`;
  const proofFile = join(dir, 'proof.json');
  const proved = await quiet(() =>
    prove([
      '--url',
      net.apiUrls[0]!,
      '--account',
      publicKey,
      '--secret-file',
      join(dir, 'secret'),
      '--ratio',
      '1.5',
      '--challenge',
      challenge,
      '--out',
      proofFile,
      '--circuit',
      '1',
      '--json',
    ]),
  );
  assert.equal(proved.code, 0, proved.out);
  const text = readFileSync(proofFile, 'utf8');
  const proof = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(proof).sort(), ['circuit', 'height', 'proof', 'publicSignals', 'version']);
  assert.ok(!('account' in proof));
  assert.ok(!text.toLowerCase().includes(publicKey.slice(2).toLowerCase()), 'the public key is nowhere');

  // The third party: another validator's API, a light client from the genesis file only.
  const verifyArgs = [
    proofFile,
    '--url',
    net.apiUrls[2]!,
    '--genesis',
    network.genesisPath,
    '--ratio',
    '1.5',
    '--challenge',
    challenge,
    '--tags',
    join(dir, 'tags.json'),
    '--json',
    '--wait-ms',
    '40000',
    // Freshness is the unit tests' (STALE_CHECKPOINT); a loaded CI machine must not fail here.
    '--max-age',
    '100000',
  ];
  const verified = await quiet(() => verify(verifyArgs));
  assert.equal(verified.code, 0, verified.out);
  const result = JSON.parse(verified.out) as { valid: boolean; height: number; registeredAccounts: number };
  assert.equal(result.valid, true);
  assert.equal(result.height, JSON.parse(text).height);
  assert.ok(result.registeredAccounts >= 1);
  // Shown a second time to the same challenge: refused by the verifier's tags.
  const again = await quiet(() => verify(verifyArgs));
  assert.equal(again.code, 1);
  assert.equal((JSON.parse(again.out) as { code: string }).code, 'TAG_REUSED');
});
