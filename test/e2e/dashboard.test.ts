/**
 * `palisade devnet` as a user runs it: the command as its own process (validators, bots and the
 * dashboard behind it), checked from the outside.
 *
 *   - it prints one JSON document (--json) naming every validator's API, p2p address and pid and
 *     the dashboard, and writes the same to <data>/devnet.json;
 *   - the dashboard, opened in headless Chromium (Debian's, driven by playwright-core), shows live
 *     data: the height rising, four validators up, an oracle price, order books and fills from
 *     the bots; a screenshot goes to test-output/dashboard.png;
 *   - a validator killed with SIGKILL is restarted by the devnet under a new pid;
 *   - SIGINT stops everything (exit 0, no validator left) and a second start resumes the chain.
 *
 * Skipped, saying so, only when /usr/bin/chromium is missing; CI installs it (.ci/run).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { chromium } from 'playwright-core';
import type { DevnetRecord } from '../../src/node/devnet/devnet.ts';
import { PALISADE_BIN } from '../../src/node/devnet/network.ts';
import { freeBasePort, TEST_LEADER_TIMEOUT_MS, waitFor, within } from './harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = new URL('../../test-output/', import.meta.url).pathname;
const dataDirectory = mkdtempSync(join(tmpdir(), 'palisade-devnet-cli-'));
const running = new Set<ChildProcess>();
after(() => {
  // Each devnet stops its validators when it gets SIGTERM; the validators also stop themselves
  // if their devnet is gone (orphan-guard.ts), so SIGKILL here would still leave none behind.
  for (const child of running) child.kill('SIGTERM');
  rmSync(dataDirectory, { recursive: true, force: true });
});

interface Devnet {
  child: ChildProcess;
  record: DevnetRecord;
  exit: Promise<number | null>;
}

async function startDevnet(args: string[]): Promise<Devnet> {
  const child = spawn(
    process.execPath,
    [PALISADE_BIN, 'devnet', '--data', dataDirectory, '--json', ...args],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  running.add(child);
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const firstLine = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exit.then((code) => reject(new Error(`palisade devnet exited with ${code} before it was up`)));
  });
  const record = JSON.parse(await within(firstLine, 90_000, 'the devnet to come up')) as DevnetRecord;
  return { child, record, exit };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readRecord(): DevnetRecord {
  return JSON.parse(readFileSync(join(dataDirectory, 'devnet.json'), 'utf8')) as DevnetRecord;
}

async function height(api: string): Promise<number> {
  const response = await fetch(`${api}/v1/status`, { signal: AbortSignal.timeout(2000) });
  return ((await response.json()) as { height: number }).height;
}

test('palisade devnet: dashboard live in Chromium, a killed validator restarted, Ctrl-C stops all, a restart resumes', {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`,
  timeout: 240_000,
}, async () => {
  const basePort = await freeBasePort(4);
  const first = await startDevnet([
    '--base-port',
    String(basePort),
    '--dashboard-port',
    '0',
    '--leader-timeout-ms',
    String(TEST_LEADER_TIMEOUT_MS),
  ]);
  const { record } = first;
  assert.equal(record.running, true);
  assert.equal(record.validators.length, 4);
  record.validators.forEach((validator, index) => {
    assert.equal(validator.api, `http://127.0.0.1:${basePort + 100 + index}`);
    assert.equal(validator.p2p, `127.0.0.1:${basePort + index}`);
    assert.ok(validator.pid !== null && alive(validator.pid), `validator ${index} runs as its own process`);
  });
  assert.deepEqual(
    readRecord().validators.map((validator) => validator.pid),
    record.validators.map((validator) => validator.pid),
    'devnet.json names the same processes',
  );

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await page.goto(record.dashboard);
    const text = async (testId: string) => (await page.getByTestId(testId).textContent()) ?? '';
    await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('validators-up').filter({ hasText: '4/4 up' }).waitFor({ timeout: 30_000 });
    const heightBefore = Number(await text('height'));
    await waitFor(
      async () => Number(await text('height')) > heightBefore,
      'the height on the page to rise',
      30_000,
    );
    assert.match(await text('price-BTC-USD'), /\d/, 'an oracle price is shown');
    // The bots quote in several series and the takers trade against the quotes.
    await page.getByTestId('book-bid').first().waitFor({ timeout: 60_000 });
    await page.getByTestId('book-ask').first().waitFor({ timeout: 60_000 });
    await page.getByTestId('fill-row').first().waitFor({ timeout: 90_000 });
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'dashboard.png'), fullPage: true });
  } finally {
    await browser.close();
  }

  // A validator that dies is reported and started again under a new pid.
  const victim = record.validators[2]!;
  process.kill(victim.pid!, 'SIGKILL');
  await waitFor(
    () => {
      const now = readRecord().validators[2]!;
      return now.state === 'running' && now.pid !== null && now.pid !== victim.pid && now.restarts === 1;
    },
    'the devnet to restart validator 2',
    60_000,
  );
  const restartedPid = readRecord().validators[2]!.pid!;
  const reached = await height(record.validators[0]!.api);

  // Ctrl-C: everything stops, exit 0, and devnet.json says so.
  const pids = [...record.validators.map((validator) => validator.pid!), restartedPid];
  first.child.kill('SIGINT');
  assert.equal(await within(first.exit, 60_000, 'the devnet to stop'), 0);
  for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} stopped`);
  assert.equal(readRecord().running, false);

  // Starting again resumes the same chain from the data directory.
  const second = await startDevnet(['--no-bots', '--dashboard-port', '0']);
  assert.deepEqual(
    second.record.validators.map((validator) => validator.api),
    record.validators.map((validator) => validator.api),
  );
  assert.ok((await height(second.record.validators[0]!.api)) >= reached, 'resumes at or above its height');
  second.child.kill('SIGTERM');
  assert.equal(await within(second.exit, 60_000, 'the devnet to stop'), 0);
  for (const validator of second.record.validators) assert.equal(alive(validator.pid!), false);
});
