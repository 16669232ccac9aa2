/**
 * `palisade governance propose|sign|submit` against the API of the fixture node (a real engine,
 * mempool and block rule; 3-of-5 governors): a listing signed by two governors is refused by the
 * engine and lists nothing; the same file signed by a third lists the series; a signature added
 * twice by one governor stays one; a submitted copy of the executed proposal is refused (replay).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sha256 } from '../../crypto/hash.ts';
import { createEd25519Keystore } from '../../crypto/keystore.ts';
import { btcSeries } from '../../execution/fixtures.ts';
import { MS_PER_DAY } from '../../execution/margin.ts';
import { createFixtureNode } from '../api/fixture-node.ts';
import { startApiServer } from '../api/server.ts';
import { governanceActionOf, type ProposalFile, run } from './governance.ts';

const PASSWORD = 'governance test password';

/** The fixture governors' seeds (src/execution/fixtures.ts testSigner labels). */
function seedOf(label: string): Uint8Array {
  return sha256(new TextEncoder().encode(`palisade/test-key/${label}`));
}

async function quiet<T>(body: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = () => {};
  try {
    return await body();
  } finally {
    console.log = log;
  }
}

test('governance CLI: two signatures list nothing, three list the series, a repeated signer counts once, a replay is refused', async () => {
  const node = createFixtureNode();
  node.finalizeBlock();
  const api = await startApiServer({ view: node.view });
  try {
    const directory = mkdtempSync(join(tmpdir(), 'palisade-governance-'));
    const passwordFile = join(directory, 'password.txt');
    writeFileSync(passwordFile, `${PASSWORD}\n`);
    const keystores: string[] = [];
    for (const [i, label] of ['governance', 'governor-2', 'governor-3'].entries()) {
      const keystore = await createEd25519Keystore(seedOf(label), PASSWORD, {
        kdf: 'scrypt',
        scrypt: { n: 16_384, r: 8, p: 1 },
      });
      keystores.push(join(directory, `governor-${i}.json`));
      writeFileSync(keystores[i]!, JSON.stringify(keystore));
    }
    const path = join(directory, 'proposal.json');
    const series = btcSeries(true, 90_000, node.engine.timeMs + 5 * MS_PER_DAY);
    const before = node.engine.series().length;
    await quiet(() =>
      run([
        'propose',
        '--action',
        JSON.stringify({ kind: 'listSeries', value: series }),
        '--chain-id',
        String(node.chainId),
        '--id',
        '77',
        '--expiry-ms',
        String(node.engine.timeMs + MS_PER_DAY),
        '--out',
        path,
      ]),
    );
    const sign = (i: number) =>
      quiet(() => run(['sign', path, '--keystore', keystores[i]!, '--password-file', passwordFile]));
    const submit = () =>
      quiet(() =>
        run(['submit', path, '--url', api.url, '--keystore', keystores[0]!, '--password-file', passwordFile]),
      );
    await sign(0);
    await sign(1);
    await sign(1);
    const file = JSON.parse(readFileSync(path, 'utf8')) as ProposalFile;
    assert.equal(file.signatures.length, 2, 'one governor signing twice is one signature');
    await submit();
    node.finalizeBlock();
    assert.equal(node.engine.series().length, before, 'two of five governors list nothing');
    await sign(2);
    await submit();
    node.finalizeBlock();
    assert.equal(node.engine.series().length, before + 1, 'three of five list the series');
    await submit();
    node.finalizeBlock();
    assert.equal(node.engine.series().length, before + 1, 'the executed proposal again: refused');
  } finally {
    await api.close();
  }
});

test('governance CLI: a changeValidators action reads from JSON (op by name, key hex, addresses text); a bad op is refused', () => {
  const key = 'ab'.repeat(32);
  const action = governanceActionOf({
    kind: 'changeValidators',
    value: { op: 'add', publicKey: key, p2p: '10.0.0.5:26600', api: 'http://10.0.0.5:26700' },
  });
  assert.equal(action.kind, 'changeValidators');
  if (action.kind !== 'changeValidators') return;
  assert.equal(action.value.op, 0);
  assert.equal(Buffer.from(action.value.publicKey).toString('hex'), key);
  assert.equal(new TextDecoder().decode(action.value.p2p), '10.0.0.5:26600');
  const removal = governanceActionOf({ kind: 'changeValidators', value: { op: 'remove', publicKey: key } });
  assert.equal(removal.kind === 'changeValidators' && removal.value.op, 1);
  assert.throws(() =>
    governanceActionOf({ kind: 'changeValidators', value: { op: 'swap', publicKey: key } }),
  );
  assert.throws(() =>
    governanceActionOf({ kind: 'changeValidators', value: { op: 'add', publicKey: 'zz' } }),
  );
});
