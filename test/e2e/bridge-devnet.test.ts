/**
 * Value in and out through the EVM on `palisade devnet`, as a user runs it: the devnet's EDR node,
 * the vault and verifier it deployed, the bots' deposits credited on Palisade only once 2f + 1
 * validators reported them (GET /v1/bridge/deposits), and the bots' withdrawals certified in a
 * checkpoint and paid by the vault to the bots' EVM wallets, drawing the token bucket down. Read
 * from the EVM node itself (what enforces the limits), not from Palisade's view of it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { type Abi, createPublicClient, type Hex, http } from 'viem';
import { compiledContracts } from '../../src/interop/evm/compile.ts';
import { addressOf, BOT_WALLET_BASE, readVault } from '../../src/interop/evm/vault-setup.ts';
import type { DevnetRecord } from '../../src/node/devnet/devnet.ts';
import { PALISADE_BIN } from '../../src/node/devnet/network.ts';
import { freeBasePort, TEST_LEADER_TIMEOUT_MS, waitFor, within } from './harness.ts';

const dataDirectory = mkdtempSync(join(tmpdir(), 'palisade-bridge-devnet-'));
let child: ChildProcess | undefined;
after(() => {
  child?.kill('SIGTERM');
  rmSync(dataDirectory, { recursive: true, force: true });
});

interface DepositsPage {
  deposits: { nonce: number; status: 'credited' | 'pending'; amount: string }[];
}

test('palisade devnet moves value in and out through the EVM: deposits credited by 2f + 1, withdrawals paid by the vault', {
  timeout: 300_000,
}, async () => {
  const basePort = await freeBasePort(4);
  child = spawn(
    process.execPath,
    [
      PALISADE_BIN,
      'devnet',
      '--data',
      dataDirectory,
      '--json',
      '--base-port',
      String(basePort),
      '--dashboard-port',
      '0',
      '--leader-timeout-ms',
      String(TEST_LEADER_TIMEOUT_MS),
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const exit = new Promise<number | null>((resolve) => child!.once('exit', resolve));
  const firstLine = new Promise<string>((resolve, reject) => {
    createInterface({ input: child!.stdout! }).once('line', resolve);
    void exit.then((code) => reject(new Error(`palisade devnet exited with ${code} before it was up`)));
  });
  const record = JSON.parse(await within(firstLine, 120_000, 'the devnet to come up')) as DevnetRecord;
  const evm = record.evm;
  assert.ok(evm !== undefined, 'the devnet names its EVM side');
  const deployment = { rpc: evm.rpc, token: evm.token as Hex, vault: evm.vault as Hex };
  const api = record.validators[0]!.api;
  const publicClient = createPublicClient({ transport: http(evm.rpc, { retryCount: 0 }) });
  const tokenAbi = compiledContracts().contracts.get('TestToken')!.abi as Abi;
  const botWallets = record.bots.map((_, i) => addressOf(BOT_WALLET_BASE + i));
  const walletBalances = () =>
    Promise.all(
      botWallets.map(
        (wallet) =>
          publicClient.readContract({
            address: deployment.token,
            abi: tokenAbi,
            functionName: 'balanceOf',
            args: [wallet],
          }) as Promise<bigint>,
      ),
    );

  // In: every bot deposits through the vault; each nonce is credited on Palisade.
  let deposited = 0n;
  await waitFor(
    async () => {
      const vault = await readVault(deployment);
      if (vault.depositNonce < BigInt(record.bots.length)) return false;
      deposited = vault.balance;
      const response = await fetch(`${api}/v1/bridge/deposits?status=credited&limit=500`, {
        signal: AbortSignal.timeout(2000),
      });
      const page = (await response.json()) as DepositsPage;
      return page.deposits.length >= record.bots.length;
    },
    'every bot deposit to be credited by 2f + 1 validators',
    120_000,
  );
  assert.ok(deposited > 0n, 'the vault holds the deposits');
  const credited = (await (
    await fetch(`${api}/v1/bridge/deposits?status=credited&limit=500`)
  ).json()) as DepositsPage;
  const nonces = credited.deposits.map((deposit) => deposit.nonce);
  assert.equal(new Set(nonces).size, nonces.length, 'each vault nonce credited once');

  // Out: a withdrawal certified in a checkpoint and claimed pays a bot's EVM wallet from the vault.
  let paid = 0n;
  await waitFor(
    async () => {
      paid = (await walletBalances()).reduce((sum, balance) => sum + balance, 0n);
      return paid > 0n;
    },
    'a bot withdrawal to be paid by the vault on the EVM',
    150_000,
  );
  const vault = await readVault(deployment);
  assert.ok(vault.balance < deposited, 'the vault paid out of what it held');
  assert.ok(vault.token.available < vault.token.capacity, 'a paid claim drew the token bucket down');
  assert.equal(vault.paused.global || vault.paused.token, false);

  child.kill('SIGINT');
  assert.equal(await within(exit, 30_000, 'the devnet to stop on SIGINT'), 0);
  child = undefined;
});
