/**
 * The two commands an operator runs: `palisade genesis` writes a network directory whose files
 * parse back strictly, and `palisade node --config` runs a validator as its own OS process that
 * announces itself with one JSON line, serves /v1/status, finalizes and exits 0 on SIGTERM —
 * then resumes from its data directory.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { UsageError } from '../args.ts';
import { readNodeConfig } from '../config.ts';
import { parseGenesis } from '../genesis.ts';
import { run as genesisCommand } from './genesis.ts';

const bin = new URL('../../../bin/palisade.js', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'palisade-cmd-'));
after(() => rmSync(root, { recursive: true, force: true }));
const passwordFile = join(root, 'password.txt');
writeFileSync(passwordFile, 'correct horse battery staple\n');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function quietly<T>(body: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = () => {};
  return body().finally(() => {
    console.log = log;
  });
}

interface Running {
  ready: Record<string, unknown>;
  exit: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

async function startValidator(config: string): Promise<Running> {
  const child = spawn(process.execPath, [bin, 'node', '--config', config], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no ready line')), 20_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as Record<string, unknown>);
    });
    void exit.then((code) => reject(new Error(`exited with ${code} before ready`)));
  });
  return { ready, exit, kill: (signal) => child.kill(signal) };
}

async function status(api: string): Promise<{ height: number; chainId: number; finalizedHash: string }> {
  const response = await fetch(`${api}/v1/status`);
  assert.equal(response.status, 200);
  return (await response.json()) as { height: number; chainId: number; finalizedHash: string };
}

test('genesis writes keys, genesis and configs that parse back; refuses to overwrite', async () => {
  const out = join(root, 'four');
  const code = await quietly(() =>
    genesisCommand([
      '--validators',
      '4',
      '--out',
      out,
      '--password-file',
      passwordFile,
      '--fast-kdf',
      '--traders',
      '2',
      '--json',
    ]),
  );
  assert.equal(code, 0);
  const genesis = parseGenesis(JSON.parse(readFileSync(join(out, 'genesis.json'), 'utf8')));
  assert.equal(genesis.validators.length, 4);
  assert.equal(genesis.dkg.threshold, 3);
  assert.equal(genesis.engine.accounts.length, 2);
  assert.deepEqual(genesis.validators[2]!.p2p, { host: '127.0.0.1', port: 26602 });
  const config = readNodeConfig(join(out, 'validator-2', 'config.json'));
  assert.equal(config.index, 2);
  assert.equal(config.dataDirectory, join(out, 'validator-2', 'data'));
  assert.equal(config.keystorePath, join(out, 'keys', 'validator-2.json'));
  assert.equal(statSync(config.keystorePath).mode & 0o777, 0o600);
  const again = await quietly(() =>
    genesisCommand(['--validators', '4', '--out', out, '--password-file', passwordFile, '--fast-kdf']),
  );
  assert.notEqual(again, 0);
});

test('genesis --validator-metadata declares each validator in genesis; a wrong file writes nothing', async () => {
  const declared = [
    { operator: 'alpha', jurisdiction: 'CH', hosting: 'own-rack', keyCustody: 'yubihsm' },
    { operator: 'beta', hosting: 'hetzner' },
  ];
  const file = join(root, 'metadata.json');
  writeFileSync(file, JSON.stringify(declared));
  const args = (out: string, metadata: string) => [
    '--validators',
    '2',
    '--out',
    out,
    '--password-file',
    passwordFile,
    '--fast-kdf',
    '--json',
    '--validator-metadata',
    metadata,
  ];
  const out = join(root, 'declared');
  assert.equal(await quietly(() => genesisCommand(args(out, file))), 0);
  const genesis = parseGenesis(JSON.parse(readFileSync(join(out, 'genesis.json'), 'utf8')));
  assert.deepEqual(
    genesis.validators.map((v) => v.metadata),
    declared,
  );
  for (const [name, bad] of [
    ['one-entry', [declared[0]]],
    ['unknown-field', [declared[0], { operator: 'beta', owner: 'x' }]],
    ['too-long', [declared[0], { operator: 'b'.repeat(65) }]],
    ['not-text', [declared[0], { operator: 7 }]],
  ] as const) {
    const badFile = join(root, `${name}.json`);
    writeFileSync(badFile, JSON.stringify(bad));
    const badOut = join(root, `bad-${name}`);
    await assert.rejects(
      quietly(() => genesisCommand(args(badOut, badFile))),
      (error: unknown) => error instanceof UsageError && /--validator-metadata/.test(error.message),
      name,
    );
    assert.equal(existsSync(badOut), false, `${name}: nothing written`);
  }
});

test('palisade node runs a validator process, finalizes, stops on SIGTERM and resumes', async () => {
  const out = join(root, 'one');
  const port = await freePort();
  const code = await quietly(() =>
    genesisCommand([
      '--validators',
      '1',
      '--out',
      out,
      '--password-file',
      passwordFile,
      '--fast-kdf',
      '--base-port',
      String(port),
      '--leader-timeout-ms',
      '300',
    ]),
  );
  assert.equal(code, 0);
  // Let the OS pick the API port so parallel test runs never collide.
  const configPath = join(out, 'validator-0', 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  config.apiListen = '127.0.0.1:0';
  config.logLevel = 'warn';
  writeFileSync(configPath, JSON.stringify(config));

  const first = await startValidator(configPath);
  assert.equal(first.ready.event, 'ready');
  assert.equal(first.ready.p2p, `127.0.0.1:${port}`);
  assert.equal(typeof first.ready.pid, 'number');
  const api = first.ready.api as string;
  let reached = 0;
  for (let i = 0; i < 100 && reached < 2; i++) {
    reached = (await status(api)).height;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(reached >= 2, 'finalizes blocks');
  first.kill('SIGTERM');
  assert.equal(await first.exit, 0);

  const second = await startValidator(configPath);
  const resumed = await status(second.ready.api as string);
  assert.ok(resumed.height >= reached, 'resumes from its data directory');
  second.kill('SIGKILL');
  await second.exit;
  // After kill -9 it still starts and replays. A block the second one executed just before the kill
  // may not have reached its block store yet; its finalization is in the vote journal (a vote is
  // durable before it counts), so the third finalizes it again: the same block at that height.
  const third = await startValidator(configPath);
  try {
    const thirdApi = third.ready.api as string;
    let again = await status(thirdApi);
    for (let i = 0; i < 200 && again.height < resumed.height; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      again = await status(thirdApi);
    }
    assert.ok(
      again.height >= resumed.height,
      `height ${again.height} after kill -9, ${resumed.height} before`,
    );
    const block = (await (await fetch(`${thirdApi}/v1/blocks/${resumed.height}`)).json()) as {
      hash?: string;
    };
    assert.equal(block.hash, resumed.finalizedHash, 'the block at the height it had is the same block');
  } finally {
    third.kill('SIGINT');
  }
  assert.equal(await third.exit, 0);
});
