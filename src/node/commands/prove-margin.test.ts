/**
 * `palisade prove-margin` / `verify-margin` end to end on the 1-position circuit: a state file,
 * a secret file, a proof file with no account field, and a verifier that refuses the second
 * showing under its challenge (its tags file) and a proof for another challenge.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadPoseidon, ownerCommitment } from '../../crypto/poseidon-tree.ts';
import { publicStateJson } from '../../privacy/client.ts';
import { artifactsBuilt, CIRCUITS_DIR } from '../../privacy/keys.ts';
import { run as prove } from './prove-margin.ts';
import { run as verify } from './verify-margin.ts';

const dir = mkdtempSync(join(tmpdir(), 'palisade-zk-'));
const USDC = 1_000_000n;
const E18 = 10n ** 18n;

before(async () => {
  if (!artifactsBuilt(1)) {
    execFileSync(process.execPath, [`${CIRCUITS_DIR}/build.ts`, '--sizes', '1'], { stdio: 'inherit' });
  }
  const hasher = await loadPoseidon();
  const secret = 0xabcdefn;
  writeFileSync(join(dir, 'secret'), `0x${secret.toString(16)}\n`);
  const state = {
    height: 50,
    mmBps: 750,
    series: [
      {
        seriesId: 1,
        isCall: true,
        spot: 3000n * USDC,
        markPerUnit: 100n * USDC * E18,
        lotUnderlyingE12: 10n ** 11n,
      },
    ],
    accounts: [
      {
        index: 3,
        balance: 2000n * USDC,
        positions: [{ seriesId: 1, lots: -4 }],
        commitment: ownerCommitment(hasher, secret),
      },
      { index: 8, balance: 9000n * USDC, positions: [{ seriesId: 1, lots: 2 }], commitment: 99n },
    ],
  };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(publicStateJson(state)));
});

const quiet = async (body: () => Promise<number>): Promise<{ code: number; out: string }> => {
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
};

test('prove, verify, and refuse a second showing and another challenge', async () => {
  const state = join(dir, 'state.json');
  const out = join(dir, 'proof.json');
  const proved = await quiet(() =>
    prove([
      '--state',
      state,
      '--account',
      '3',
      '--secret-file',
      join(dir, 'secret'),
      '--ratio',
      '1.5',
      '--challenge',
      '777',
      '--out',
      out,
      '--circuit',
      '1',
      '--json',
    ]),
  );
  assert.equal(proved.code, 0, proved.out);
  const file = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(Object.keys(file).sort(), ['circuit', 'height', 'proof', 'publicSignals', 'version']);
  const tags = join(dir, 'tags.json');
  const args = [out, '--state', state, '--ratio', '1.5', '--challenge', '777', '--tags', tags, '--json'];
  const first = await quiet(() => verify(args));
  assert.equal(first.code, 0, first.out);
  assert.equal(JSON.parse(first.out).rootSource, 'recomputed from --state');
  const second = await quiet(() => verify(args));
  assert.equal(second.code, 1);
  assert.equal(JSON.parse(second.out).code, 'TAG_REUSED');
  const replay = await quiet(() =>
    verify([out, '--state', state, '--ratio', '1.5', '--challenge', '778', '--json']),
  );
  assert.equal(JSON.parse(replay.out).code, 'WRONG_STATEMENT');
  const greedy = await quiet(() =>
    prove([
      '--state',
      state,
      '--account',
      '3',
      '--secret-file',
      join(dir, 'secret'),
      '--ratio',
      '20',
      '--challenge',
      '777',
      '--out',
      join(dir, 'no.json'),
      '--circuit',
      '1',
    ]),
  );
  assert.equal(greedy.code, 1);
  assert.match(greedy.out, /INSUFFICIENT_MARGIN/);
});
