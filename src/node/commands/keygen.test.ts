import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { toHex } from '../../crypto/bytes.ts';
import { loadEd25519Keystore } from '../../crypto/keystore.ts';
import { main } from '../cli.ts';
import { PASSWORD_ENVIRONMENT_VARIABLE } from './keygen.ts';

/** Runs `palisade keygen …` as the CLI does, usage errors included. */
const run = (args: string[]) => main(['keygen', ...args]);

test('keygen writes a 0600 keystore that loads back to the printed public key', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'palisade-keygen-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  const passwordFile = join(directory, 'password.txt');
  writeFileSync(passwordFile, 'a long enough password\n');
  const printed: string[] = [];
  t.mock.method(console, 'log', (line: string) => printed.push(line));
  const out = join(directory, 'keys');
  assert.equal(await run(['--out', out, '--password-file', passwordFile, '--kdf', 'pbkdf2', '--json']), 0);
  const report = JSON.parse(printed[0]!) as { publicKey: string; keystore: string };
  assert.equal(statSync(report.keystore).mode & 0o777, 0o600);
  const keys = await loadEd25519Keystore(readFileSync(report.keystore, 'utf8'), 'a long enough password');
  assert.equal(toHex(keys.publicKey), report.publicKey);
});

test('keygen takes the password from the environment, and fails without any source', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'palisade-keygen-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  t.mock.method(console, 'log', () => {});
  const errors: string[] = [];
  t.mock.method(console, 'error', (line: string) => errors.push(line));
  const previous = process.env[PASSWORD_ENVIRONMENT_VARIABLE];
  t.after(() => {
    if (previous === undefined) delete process.env[PASSWORD_ENVIRONMENT_VARIABLE];
    else process.env[PASSWORD_ENVIRONMENT_VARIABLE] = previous;
  });
  process.env[PASSWORD_ENVIRONMENT_VARIABLE] = 'from the environment';
  assert.equal(await run(['--out', directory, '--kdf', 'pbkdf2']), 0);
  delete process.env[PASSWORD_ENVIRONMENT_VARIABLE];
  if (!process.stdin.isTTY) {
    assert.equal(await run(['--out', directory]), 2);
    assert.match(errors.join('\n'), /no password/);
  }
  process.env[PASSWORD_ENVIRONMENT_VARIABLE] = 'short';
  assert.equal(await run(['--out', directory, '--kdf', 'pbkdf2']), 1);
  assert.match(errors.join('\n'), /KEYSTORE_WEAK_PASSWORD/);
  assert.equal(await run([]), 2);
});
